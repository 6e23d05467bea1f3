"""`git uet demo`: a small Python project built from scratch and run end to end.

The project (`calc/`, stdlib unittest tests, a `unit` gate) gets eight shell workstreams
in three waves. Two of them are designed to go wrong the ways real parallel work does:
`hotfix-version` rewrites the same line as `version` from the same base (the integrator
finds the conflict: `apply_failed`), and `fast-add` breaks `add()` (the unit gate fails).
Both are quarantined and the target stays green; the other six land. The outcome is
checked against that design, so the demo doubles as an end-to-end smoke test.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from gitflow_uet.errors import UsageError
from gitflow_uet.git import Repo
from gitflow_uet.project import Project

Emit = Callable[[str, dict[str, Any]], None]


def _script(doc: str, body: str) -> str:
    """A task script: it first "thinks" for DEMO_THINK seconds, as an agent would, so the
    parallelism shows on the report's timeline; then, if DEMO_AFTER names a git command, it
    waits (up to 60 s) until that command succeeds (see _AFTER)."""
    return (f'"""{doc}"""\n\nimport os, pathlib, re, subprocess, sys, time\n\n'
            'time.sleep(float(os.environ.get("DEMO_THINK", "0")))\n'
            'after, deadline = os.environ.get("DEMO_AFTER", "").split(), time.monotonic() + 60\n'
            'while after and time.monotonic() < deadline:\n'
            '    if subprocess.run(after, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:\n'
            '        break\n'
            '    time.sleep(0.05)\n\n' + body)


FILES: dict[str, str] = {
    "README.md": "# calc\n\nA tiny calculator, grown by parallel workstreams (`git uet demo`).\n",
    ".gitignore": "__pycache__/\n*.pyc\n",
    "calc/__init__.py": '"""calc: a tiny calculator."""\n\n__version__ = "0.1.0"\n',
    "calc/core.py": ('"""The first two operations."""\n\n\ndef add(a, b):\n    """a plus b."""\n    return a + b\n'
                     '\n\ndef sub(a, b):\n    """a minus b."""\n    return a - b\n'),
    "tests/__init__.py": "",
    "tests/test_core.py": ("import unittest\n\nfrom calc.core import add, sub\n\n\nclass TestCore(unittest.TestCase):\n"
                           "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n"
                           "    def test_sub(self):\n        self.assertEqual(sub(2, 3), -1)\n"),
    "tools/set_version.py": _script("Set calc.__version__ (a release workstream).",
        'path = pathlib.Path("calc/__init__.py")\ntext = path.read_text()\n'
        'new = re.sub(r\'^__version__ = ".*"$\', f\'__version__ = "{sys.argv[1]}"\', text, count=1, flags=re.M)\n'
        'if new == text:\n    sys.exit("set_version: no __version__ line to change")\npath.write_text(new)\n'),
    "tools/add_function.py": _script("Add one operation as its own module, calc/<name>.py.",
        'BODIES = {\n'
        '    "mul": \'def mul(a, b):\\n    """a times b."""\\n    return a * b\\n\',\n'
        '    "div": (\'def div(a, b):\\n    """a divided by b; ZeroDivisionError when b is 0."""\\n\'\n'
        '            \'    if b == 0:\\n        raise ZeroDivisionError("division by zero")\\n    return a / b\\n\'),\n'
        '}\nname = sys.argv[1]\n'
        'pathlib.Path(f"calc/{name}.py").write_text(f\'"""calc.{name}"""\\n\\n\\n\' + BODIES[name])\n'),
    "tools/add_tests.py": _script("Write tests/test_<name>.py for one operation.",
        'CASES = {\n'
        '    "mul": "self.assertEqual(mul(6, 7), 42)\\n        self.assertEqual(mul(-2, 3), -6)",\n'
        '    "div": "self.assertEqual(div(9, 3), 3)\\n        with self.assertRaises(ZeroDivisionError):\\n'
        '            div(1, 0)",\n'
        '}\nname = sys.argv[1]\n'
        'pathlib.Path(f"tests/test_{name}.py").write_text(\n'
        '    f"import unittest\\n\\nfrom calc.{name} import {name}\\n\\n\\n"\n'
        '    f"class Test{name.title()}(unittest.TestCase):\\n    def test_{name}(self):\\n        {CASES[name]}\\n")\n'),
    "tools/break_add.py": _script("A well-meant change that breaks add(): the unit gate catches it.",
        'path = pathlib.Path("calc/core.py")\ntext = path.read_text()\n'
        'new = text.replace("    return a + b\\n", "    return str(a) + str(b)  # add(\'1\', 2) == \'12\'\\n")\n'
        'if new == text:\n    sys.exit("break_add: add() not found")\npath.write_text(new)\n'),
    "tools/write_docs.py": _script("docs/API.md: every function of the calc package, with its docstring.",
        'import importlib, inspect, pkgutil\n\nsys.path.insert(0, os.getcwd())\nimport calc  # noqa: E402\n\n'
        'lines = ["# calc API", "", f"Version {calc.__version__}.", ""]\n'
        'for info in sorted(pkgutil.iter_modules(calc.__path__), key=lambda m: m.name):\n'
        '    module = importlib.import_module(f"calc.{info.name}")\n'
        '    for name, fn in inspect.getmembers(module, inspect.isfunction):\n'
        '        if fn.__module__ == module.__name__:\n'
        '            lines.append(f"- `calc.{info.name}.{name}{inspect.signature(fn)}`: {inspect.getdoc(fn)}")\n'
        'pathlib.Path("docs").mkdir(exist_ok=True)\npathlib.Path("docs/API.md").write_text("\\n".join(lines) + "\\n")\n'),
}

# id -> (title, depends_on, priority, scope, think seconds, script argv, check module or None)
_DESIGN: dict[str, tuple[str, list[str], str, list[str] | None, float, str, str | None]] = {
    "version": ("Release 0.2.0", [], "CRITICAL", None, 0.4, "set_version.py 0.2.0", None),
    "hotfix-version": ("Tag a 0.1.1 hotfix", [], "HIGH", None, 1.0, "set_version.py 0.1.1", None),
    "mul": ("Add multiplication", [], "MEDIUM", ["calc/mul.py"], 0.9, "add_function.py mul", None),
    "div": ("Add division", [], "MEDIUM", ["calc/div.py"], 1.0, "add_function.py div", None),
    "fast-add": ("Let add() join strings too", [], "MEDIUM", ["calc/core.py"], 0.8, "break_add.py", None),
    "test-mul": ("Test multiplication", ["mul"], "MEDIUM", ["tests/test_mul.py"], 0.7, "add_tests.py mul",
                 "tests.test_mul"),
    "test-div": ("Test division", ["div"], "MEDIUM", ["tests/test_div.py"], 0.6, "add_tests.py div",
                 "tests.test_div"),
    "docs": ("Write the API docs", ["test-mul", "test-div"], "LOW", ["docs/**"], 0.5, "write_docs.py", None),
}

# The designed conflict, made certain however loaded the machine: `version` finishes only
# once `hotfix-version` has started (so both start from the same base), and
# `hotfix-version` only once `version` has landed (so the hotfix is the one that conflicts).
# Think times alone decided that order, and on a busy machine it sometimes went the other way.
_AFTER: dict[str, str] = {
    "version": "git rev-parse -q --verify refs/heads/uet/hotfix-version",
    "hotfix-version": "git grep -q -F 0.2.0 main -- calc/__init__.py",
}

# What the design says must happen; anything else is reported as a difference.
EXPECTED: dict[str, str] = {ws_id: "integrated" for ws_id in _DESIGN} | {
    "hotfix-version": "quarantined", "fast-add": "quarantined"}
# The patch state that proves *why* each designed quarantine happened.
EXPECTED_PATCH: dict[str, str] = {"hotfix-version": "apply_failed", "fast-add": "quarantined"}


@dataclass
class DemoResult:
    path: Path
    run_id: str
    seconds: float                     # wall time of the run itself
    total_seconds: float               # building the project included
    speedup: float                     # sum of task times / wall time
    task_seconds: float                # sum of task times
    states: dict[str, str]
    reasons: dict[str, list[str]]
    report_html: Path
    target_log: list[str]              # subjects on the target, newest first
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def specs(python: str = sys.executable) -> list[dict[str, Any]]:
    """The demo's workstream specs, as the documents written to workstreams/."""
    py = shlex.quote(python)
    docs = []
    for ws_id, (title, deps, priority, scope, think, script, check) in _DESIGN.items():
        env = {"DEMO_THINK": str(think)} | ({"DEMO_AFTER": _AFTER[ws_id]} if ws_id in _AFTER else {})
        tasks: list[dict[str, Any]] = [{"id": "edit", "run": f"{py} tools/{script}", "timeout": 90,
                                        "estimate": think, "env": env}]
        if check:
            tasks.append({"id": "check", "run": f"{py} -m unittest -q {check}", "timeout": 60, "estimate": 0.2})
        doc: dict[str, Any] = {"id": ws_id, "title": title, "depends_on": deps, "priority": priority}
        if scope is not None:
            doc["scope"] = scope
        docs.append({**doc, "tasks": tasks})
    return docs


def config(python: str = sys.executable, workers: int = 3) -> dict[str, Any]:
    return {
        "schema_version": 1, "target": "main", "workers": workers,
        "gates": {"unit": f"{shlex.quote(python)} -m unittest discover -q -s tests -t ."},
        "integrate_gates": ["unit"],
        "hook_gates": {"pre-commit": [], "pre-push": []},
    }


def prepare(path: Path, *, workers: int = 3) -> Project:
    """The demo repository at `path` (absent or empty): files, identity, `git uet init`,
    config and specs, all in one commit on `main`. The caller closes the project."""
    from gitflow_uet.spec.bootstrap import initialize

    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"--dir {path}: must be an empty folder or not exist yet")
    path.mkdir(parents=True, exist_ok=True)
    path = path.resolve()
    # Not a repository yet: a Repo on the bare path is only the door for `git init`.
    with Repo(path, path / ".git", path / ".git") as door:
        door.run("init", "--quiet", "--initial-branch=main")
        # The user's machine may have no identity (or signing on): the demo brings its own.
        for key, value in (("user.name", "git uet demo"), ("user.email", "demo@git-uet.invalid"),
                           ("commit.gpgsign", "false")):
            door.run("config", "--local", key, value)
    for name, text in FILES.items():
        _write(path / name, text)
    with Project.open(path) as project:
        initialize(project)
        _write(path / ".uet" / "config.yaml", yaml.safe_dump(config(workers=workers), sort_keys=False, width=200))
        for doc in specs():
            _write(path / "workstreams" / f"{doc['id']}.yaml", yaml.safe_dump(doc, sort_keys=False, width=200))
        project.repo.run("add", "--all")
        project.repo.run("commit", "--quiet", "--no-verify", "-m", "calc 0.1.0: add and sub, tests, demo tools")
    return Project.open(path)  # afresh: the config written above replaced init's defaults


def run_demo(path: Path | None = None, *, workers: int = 3, on_event: Emit | None = None) -> DemoResult:
    """Build the demo project (in a new temporary folder when `path` is None), run every
    workstream, write the HTML report to `.git/uet/report.html`, and compare the outcome
    with the design."""
    if workers < 2:
        # One worker runs `version` and `hotfix-version` one after the other: no conflict to show.
        raise UsageError("--workers must be at least 2: the demo's conflict needs two workstreams at once")
    begun = time.monotonic()
    where = Path(tempfile.mkdtemp(prefix="uet-demo-")) if path is None else path
    with prepare(where, workers=workers) as project:
        return _run_and_compare(project, begun, workers, on_event)


def _run_and_compare(project: Project, begun: float, workers: int, on_event: Emit | None) -> DemoResult:
    from gitflow_uet.views.report import build_report
    from gitflow_uet.views.report_html import render_html
    from gitflow_uet.run.runner import run

    result = run(project, workers=workers, on_event=on_event)
    report = build_report(project, result.run_id)
    html_path = project.repo.uet_dir / "report.html"
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(report), encoding="utf-8")
    state = project.ledger.state()
    reasons = {r["id"]: list(r.get("reasons") or []) for r in state.all("workstream") if r.get("reasons")}
    subjects = project.repo.run("log", "--format=%s", "main").decode().splitlines()
    return DemoResult(
        path=project.root, run_id=result.run_id, seconds=result.seconds,
        total_seconds=time.monotonic() - begun, speedup=report["totals"]["speedup"],
        task_seconds=report["totals"]["sum_task_seconds"],
        states=dict(sorted(result.states.items())), reasons=reasons, report_html=html_path,
        target_log=subjects, differences=differences(project, result.states, subjects))


def expected_subjects() -> list[str]:
    """The commits the design lands on `main` (any order), besides the initial one."""
    return sorted(f"{_DESIGN[i][0]} ({i})" for i, s in EXPECTED.items() if s == "integrated")


def differences(project: Project, states: dict[str, str], subjects: list[str]) -> list[str]:
    """One line per way the outcome strays from the design; empty when it is exact."""
    found: list[str] = []
    for ws_id, want in EXPECTED.items():
        got: str | None = states.get(ws_id, "not run")
        if got != want:
            found.append(f"{ws_id}: expected {want}, got {got}")
    ledger = project.ledger.state()
    for ws_id, want in EXPECTED_PATCH.items():
        patch_id = (ledger.get("workstream", ws_id) or {}).get("patch")
        got = ledger.state_of("patch", patch_id) if patch_id else None
        if states.get(ws_id) == EXPECTED[ws_id] and got != want:
            found.append(f"{ws_id}: expected its patch {want}, got {got or 'no patch'}")
    landed = sorted(subjects[:-1])  # the oldest is the initial commit
    if not found and landed != expected_subjects():
        found.append(f"main holds {landed}, expected {expected_subjects()}")
    return found


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
