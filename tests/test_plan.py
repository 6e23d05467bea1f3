from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gitflow_uet.errors import SpecError
from gitflow_uet.spec.plan import plan_from, to_json, to_mermaid
from gitflow_uet.spec.workstream import Workstream, load_specs

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def specs_of(*docs: dict[str, object]) -> dict[str, Workstream]:
    return {str(doc["id"]): Workstream.model_validate({"title": f"Title {doc['id']}", **doc}) for doc in docs}


def ws(ws_id: str, *deps: str, seconds: float | None = None) -> dict[str, object]:
    tasks = [{"id": "t", "run": "true", "estimate": seconds}] if seconds is not None else []
    return {"id": ws_id, "depends_on": list(deps), "tasks": tasks}


def diamond(c_seconds: float | None = None) -> dict[str, Workstream]:
    return specs_of(ws("d", "c", "b"), ws("c", "a", seconds=c_seconds), ws("b", "a"), ws("a"))


def test_diamond_waves_and_tie_broken_by_id() -> None:
    plan = plan_from(diamond())
    assert plan.waves == [["a"], ["b", "c"], ["d"]]
    assert plan.widths == [1, 2, 1]
    assert plan.critical_path == ["a", "b", "d"]
    assert plan.critical_seconds == 3.0


def test_heavier_branch_takes_the_critical_path() -> None:
    plan = plan_from(diamond(c_seconds=40))
    assert plan.critical_path == ["a", "c", "d"]
    assert plan.critical_seconds == 42.0


def test_independent_chains_pick_the_heaviest() -> None:
    plan = plan_from(specs_of(ws("x"), ws("y", "x"), ws("p", seconds=5), ws("q", "p")))
    assert plan.waves == [["p", "x"], ["q", "y"]]
    assert plan.critical_path == ["p", "q"] and plan.critical_seconds == 6.0


def test_empty_plan() -> None:
    plan = plan_from({})
    assert (plan.waves, plan.critical_path, plan.critical_seconds) == ([], [], 0.0)
    assert to_json(plan)["workstreams"] == 0


def test_cycle_is_named_deterministically() -> None:
    with pytest.raises(SpecError) as info:
        plan_from(specs_of(ws("a", "b"), ws("b", "a"), ws("c", "a")))
    assert str(info.value).endswith("cycle: a → b → a")


def test_longer_cycle_behind_a_stuck_workstream() -> None:
    # 'a' is stuck only because it waits on the cycle c → e → d → c.
    with pytest.raises(SpecError) as info:
        plan_from(specs_of(ws("a", "c"), ws("c", "e"), ws("d", "c"), ws("e", "d"), ws("z")))
    assert str(info.value).endswith("cycle: c → e → d → c")


def test_cycle_and_unknown_dependency_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "workstreams"
    folder.mkdir()
    (folder / "a.yaml").write_text("id: a\ntitle: A\ndepends_on: [b]\n")
    (folder / "b.yaml").write_text("id: b\ntitle: B\ndepends_on: [a]\n")
    with pytest.raises(SpecError, match=r"^workstreams/a\.yaml: depends_on: cycle: a → b → a$"):
        plan_from(load_specs(folder, tmp_path))
    (folder / "b.yaml").write_text("id: b\ntitle: B\ndepends_on: [ghost]\n")
    with pytest.raises(SpecError, match=r"^workstreams/b\.yaml: depends_on\.0: unknown workstream 'ghost'$"):
        plan_from(load_specs(folder, tmp_path))


def test_workstream_gates_checked_against_config() -> None:
    specs = specs_of({"id": "a", "gates": ["unit", "lint"]})
    assert plan_from(specs).waves == [["a"]]
    with pytest.raises(SpecError, match=r"gates\.1: unknown gate 'lint' \(gates: unit\)"):
        plan_from(specs, gates={"unit": "pytest"})


def test_to_json_shape() -> None:
    doc = to_json(plan_from(diamond()))
    assert doc == {"waves": [["a"], ["b", "c"], ["d"]], "critical_path": ["a", "b", "d"],
                   "critical_seconds": 3.0, "widths": [1, 2, 1], "workstreams": 4}
    json.dumps(doc)


def test_mermaid_has_every_node_edge_and_wave() -> None:
    specs = diamond()
    specs["b"] = specs["b"].model_copy(update={"title": 'Say "hi" <b> #1'})
    text = to_mermaid(plan_from(specs), specs)
    assert text.startswith("flowchart LR\n")
    nodes = dict((label.split(":")[0], name) for name, label in re.findall(r'^\s+(\w+)\["([^"]*)"\]$', text, re.M))
    assert sorted(nodes) == ["a", "b", "c", "d"]
    edges = set(re.findall(r"^\s+(\w+) --> (\w+)$", text, re.M))
    assert edges == {(nodes["a"], nodes["b"]), (nodes["a"], nodes["c"]), (nodes["b"], nodes["d"]), (nodes["c"], nodes["d"])}
    assert [line.strip() for line in text.splitlines() if "subgraph" in line] == [
        f'subgraph wave{n}["wave {n}"]' for n in (1, 2, 3)]
    assert "b: Say #quot;hi#quot; #lt;b#gt; #35;1" in text


# The command line, driven as a user would: a real repository, a subprocess, exit codes.


def git_uet(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HOME": str(repo.parent), "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run([sys.executable, "-m", "gitflow_uet", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    # plan refuses a target branch that does not exist (issue 9.2): give it one.
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "initial"], cwd=root, check=True)
    (root / "workstreams").mkdir()
    return root


def test_cli_plan_json(repo: Path) -> None:
    (repo / "workstreams" / "a.yaml").write_text("id: a\ntitle: A\n")
    (repo / "workstreams" / "b.json").write_text('{"id": "b", "title": "B", "depends_on": ["a"]}')
    result = git_uet(repo, "plan", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["waves"] == [["a"], ["b"]] and doc["critical_path"] == ["a", "b"]


def test_cli_plan_human_and_mermaid(repo: Path) -> None:
    (repo / "workstreams" / "a.yaml").write_text("id: a\ntitle: A\n")
    (repo / "workstreams" / "b.yaml").write_text("id: b\ntitle: B\n")
    (repo / "workstreams" / "c.yaml").write_text("id: c\ntitle: C\ndepends_on: [a, b]\n")
    human = git_uet(repo, "plan")
    assert human.returncode == 0, human.stderr
    assert human.stdout.splitlines() == ["wave 1 (width 2): a, b", "wave 2 (width 1): c", "critical path: a → c (2 s)"]
    mermaid = git_uet(repo, "plan", "--mermaid")
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("flowchart LR\n")


def test_cli_plan_bad_spec_is_one_line_exit_2(repo: Path) -> None:
    (repo / "workstreams" / "ws-003.yaml").write_text("id: a\ntitle: A\ntasks: [{id: t, run: x, timeout: soon}]\n")
    result = git_uet(repo, "plan", "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "workstreams/ws-003.yaml: tasks.0.timeout: Input should be a valid integer" in lines[0]


def test_cli_plan_without_specs(repo: Path) -> None:
    result = git_uet(repo, "plan")
    assert result.returncode == 0
    assert "no workstreams" in result.stdout
    assert json.loads(git_uet(repo, "plan", "--json").stdout)["waves"] == []
