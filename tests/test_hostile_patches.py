"""Hostile patches never reach main (issue 8, items 1-8): each case drives the real flow
(`git uet start`, an edit in the worktree, `git uet submit`, `git uet integrate`, or `git
uet run` for an llm task) on a real repository, and checks the one-line reason, the
workstream's state, the exit code and that main did not move."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitflow_uet.integrate.integrator import integrate
from gitflow_uet.project import Project
from gitflow_uet.workstream.lifecycle import start
from tests.fake_llm import FakeLLM
from tests.integration_helpers import record
from tests.helpers import git, make_repo, uet, write, write_spec

# Each case runs the CLI and real git several times: the second (slow) step of the suite;
# test_pathrules.py, test_difftext.py and test_scope.py check the same rules quickly.
pytestmark = pytest.mark.slow
PY = sys.executable
BASE_CONFIG: dict[str, Any] = {"schema_version": 1, "gates": {}, "integrate_gates": [],
                               "hook_gates": {"pre-commit": [], "pre-push": []}}


def project(tmp_path: Path, files: dict[str, str] | None = None, **config: Any) -> Path:
    repo = make_repo(tmp_path / "repo", {"README.md": "hello\n", "src/app.py": "x = 1\n", **(files or {})})
    write(repo / ".uet" / "config.yaml", yaml.safe_dump({**BASE_CONFIG, **config}, sort_keys=False))
    commit_all(repo, "config")
    return repo


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def state(repo: Path, ws_id: str) -> dict[str, Any]:
    return record(repo, "workstream", ws_id)


def attempt(repo: Path, ws_id: str, edit: Callable[[Path], None], **spec: Any) -> subprocess.CompletedProcess[str]:
    """Spec committed on main, `start`, `edit` in the worktree, `submit`; submit's result."""
    write_spec(repo, ws_id, tasks=[], **spec)
    commit_all(repo, f"spec {ws_id}")
    path = start(Project.open(repo), ws_id).path
    edit(path)
    return uet(repo, "submit", ws_id)  # the CLI: its exit code and the lines a user sees


def assert_refused(repo: Path, ws_id: str, submitted: subprocess.CompletedProcess[str], reason: str) -> None:
    main = git(repo, "rev-parse", "main")
    assert submitted.returncode == 1, submitted.stdout + submitted.stderr
    assert "Traceback" not in submitted.stderr
    lines = [line for line in submitted.stdout.splitlines() if reason in line]
    assert lines, f"no line with {reason!r} in {submitted.stdout!r}"
    record = state(repo, ws_id)
    assert record["state"] == "quarantined"
    assert any(reason in r for r in record["reasons"])
    assert git(repo, "rev-parse", "--verify", f"refs/heads/uet/quarantine/{ws_id}")
    integrate(Project.open(repo))
    assert git(repo, "rev-parse", "main") == main  # main never receives it


def assert_lands(repo: Path, ws_id: str, submitted: subprocess.CompletedProcess[str]) -> None:
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    integrate(Project.open(repo))
    assert state(repo, ws_id)["state"] == "integrated"


def commit_in(worktree: Path, *config: str) -> None:
    """What a task may do itself: commit in the worktree, with git's own guards turned off."""
    args = [arg for item in config for arg in ("-c", item)]
    git(worktree, *args, "add", "-A")
    git(worktree, *args, "commit", "-q", "-m", "task")


# -- 1, 2: diff text from an llm answer ---------------------------------------------------------

LONG_HUNK = ("diff --git a/src/app.py b/src/app.py\n--- a/src/app.py\n+++ b/src/app.py\n"
             "@@ -1 +1 @@\n-x = 1\n+x = 2\n+import os; os.system('echo pwned')\n")
SHORT_HUNK = ("diff --git a/src/app.py b/src/app.py\n--- a/src/app.py\n+++ b/src/app.py\n"
              "@@ -1 +1,2 @@\n-x = 1\n+x = 2\n")
TWICE = ("diff --git a/src/app.py b/src/app.py\n--- a/src/app.py\n+++ b/src/app.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
         "diff --git a/src/app.py b/src/app.py\n--- a/src/app.py\n+++ b/src/app.py\n@@ -1 +1 @@\n-x = 2\n+x = 3\n")


@pytest.mark.parametrize(("diff", "reason"), [
    (LONG_HUNK, "corrupt hunk: src/app.py hunk 1 (@@ -1,1 +1,1 @@): longer than its header declares"),
    (SHORT_HUNK, "corrupt hunk: src/app.py hunk 1 (@@ -1,1 +1,2 @@): shorter than its header declares"),
    (TWICE, "twice: src/app.py is patched by 2 sections of the diff"),
], ids=["longer", "shorter", "twice"])
def test_corrupt_llm_diff_is_refused_whole(tmp_path: Path, diff: str, reason: str) -> None:
    with FakeLLM(f"```diff\n{diff}```\n") as llm:
        repo = project(tmp_path, tools={"llm": {"base_url": llm.base_url, "model": "fake"}})
        write_spec(repo, "m", scope=["src/**"], tasks=[{"id": "edit", "tool": "llm", "prompt": "change x"}])
        commit_all(repo, "spec")
        main = git(repo, "rev-parse", "main")
        ran = uet(repo, "run", "m")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    record = state(repo, "m")
    assert record["state"] == "failed"
    assert reason in json.dumps(record) or reason in ran.stdout + ran.stderr
    assert git(repo, "rev-parse", "main") == main
    assert git(repo, "show", "main:src/app.py") == "x = 1"
    # nothing was applied to the worktree either: refused whole, before git read it
    assert not git(repo / ".worktrees" / "m", "status", "--porcelain", check=False).strip()


# -- 3: paths git reads as .git -----------------------------------------------------------------

@pytest.mark.parametrize("path", [".git./config", "GIT~1/config", ".GIT /config", "src/.g\u200cit/config",
                                  "src/git~1.../hooks/post-checkout"])
def test_path_git_reads_as_dotgit_is_refused(tmp_path: Path, path: str) -> None:
    repo = project(tmp_path)

    def edit(worktree: Path) -> None:
        write(worktree / path, "[core]\n\tfsmonitor = echo pwned\n")
        commit_in(worktree, "core.protectNTFS=false", "core.protectHFS=false")

    submitted = attempt(repo, "dotgit", edit)
    assert_refused(repo, "dotgit", submitted, "protected: ")
    # every later start still works: the tree never reached main
    write_spec(repo, "later", tasks=[])
    commit_all(repo, "later")
    assert start(Project.open(repo), "later").created


@pytest.mark.parametrize("path", ["GITMOD~1", ".gitmodules.", "sub/.GitAttributes "])
def test_names_git_takes_for_forbidden_files_are_forbidden(tmp_path: Path, path: str) -> None:
    repo = project(tmp_path)

    def edit(worktree: Path) -> None:
        write(worktree / path, "[submodule \"x\"]\n\tpath = x\n\turl = ../evil\n")
        commit_in(worktree, "core.protectNTFS=false")

    assert_refused(repo, "mods", attempt(repo, "mods", edit), "forbidden: ")


# -- 4: protected paths -------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "text"), [
    ("workstreams/other.yaml", "id: other\ntitle: Other\ngates: []\n"),
    (".github/workflows/ci.yml", "on: push\njobs: {}\n"),
    (".gitlab-ci.yml", "stages: []\n"),
    (".env", "TOKEN=1\n"),
    ("config/.env.local", "TOKEN=1\n"),
])
def test_protected_path_needs_the_scope_to_name_it(tmp_path: Path, path: str, text: str) -> None:
    repo = project(tmp_path)
    refused = attempt(repo, "sneak", lambda wt: write(wt / path, text), scope=["**"])
    assert_refused(repo, "sneak", refused, f"protected: {path} (protect: ")
    named = attempt(repo, "named", lambda wt: write(wt / path, text), scope=[path])
    assert_lands(repo, "named", named)


def test_gate_script_named_by_a_gate_command_is_protected(tmp_path: Path) -> None:
    repo = project(tmp_path, {"tools/check.py": "import sys\nsys.exit(0)\n"},
                   gates={"unit": f"{PY} tools/check.py"}, integrate_gates=["unit"])
    refused = attempt(repo, "gate", lambda wt: write(wt / "tools" / "check.py", "pass\n"))
    assert_refused(repo, "gate", refused, "protected: tools/check.py (a gate command runs it")


def test_gitignore_line_unignoring_secrets_is_protected(tmp_path: Path) -> None:
    repo = project(tmp_path, {".gitignore": ".env\n*.log\n"})
    refused = attempt(repo, "unig", lambda wt: write(wt / ".gitignore", ".env\n*.log\n!.env\n"))
    assert_refused(repo, "unig", refused, "protected: .gitignore:3 un-ignores secret files such as .env")
    harmless = attempt(repo, "logs", lambda wt: write(wt / ".gitignore", ".env\n*.log\n!keep.log\n"))
    assert_lands(repo, "logs", harmless)


# -- 5: required gates --------------------------------------------------------------------------

CHECK = "import sys\nsys.exit(1 if 'broken' in open('src/app.py').read() else 0)\n"


def test_spec_without_gates_still_runs_the_required_ones(tmp_path: Path) -> None:
    repo = project(tmp_path, {"check.py": CHECK}, gates={"unit": f"{PY} check.py"}, integrate_gates=["unit"])
    submitted = attempt(repo, "nogates", lambda wt: write(wt / "src" / "app.py", "x = 'broken'\n"), gates=[])
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    main = git(repo, "rev-parse", "main")
    integrated = uet(repo, "integrate")
    assert integrated.returncode == 1, integrated.stdout + integrated.stderr
    assert state(repo, "nogates")["state"] == "quarantined"
    assert git(repo, "rev-parse", "main") == main
    assert git(repo, "show", "main:src/app.py") == "x = 1"


def test_required_gates_run_on_a_rollback_candidate(tmp_path: Path) -> None:
    repo = project(tmp_path, {"check.py": "import sys\nsys.exit(0)\n"},
                   gates={"unit": f"{PY} check.py"}, required_gates=["unit"], integrate_gates=[])
    assert_lands(repo, "feat", attempt(repo, "feat", lambda wt: write(wt / "src" / "app.py", "x = 'feature'\n"),
                                       gates=[]))
    # main now depends on the feature: reverting it would break the required gate
    write(repo / "check.py", "import sys\nsys.exit(0 if 'feature' in open('src/app.py').read() else 1)\n")
    commit_all(repo, "check needs the feature")
    main = git(repo, "rev-parse", "main")
    rolled = uet(repo, "rollback", "feat")
    assert rolled.returncode != 0, rolled.stdout + rolled.stderr
    assert git(repo, "rev-parse", "main") == main


def test_spec_gates_add_to_the_required_ones(tmp_path: Path) -> None:
    repo = project(tmp_path, {"check.py": "import sys\nsys.exit(0)\n"},
                   gates={"unit": f"{PY} check.py", "lint": f"{PY} -c pass"}, integrate_gates=["unit"])
    assert_lands(repo, "both", attempt(repo, "both", lambda wt: write(wt / "src" / "app.py", "x = 2\n"),
                                       gates=["lint"]))
    patch = record(repo, "patch", state(repo, "both")["patch"])
    assert sorted(patch["gates"]) == ["lint", "unit"]


# -- 6: protected tests -------------------------------------------------------------------------

TEST_A = "from src.app import x\n\n\ndef test_x():\n    assert x == 1\n    assert isinstance(x, int)\n"


def test_deleting_a_test_file_needs_permission(tmp_path: Path) -> None:
    repo = project(tmp_path, {"tests/test_a.py": TEST_A})
    refused = attempt(repo, "del", lambda wt: (wt / "tests" / "test_a.py").unlink())
    assert_refused(repo, "del", refused, "tests deleted: tests/test_a.py")
    allowed = attempt(repo, "delok", lambda wt: (wt / "tests" / "test_a.py").unlink(), allow=["delete_tests"])
    assert_lands(repo, "delok", allowed)


def test_weakening_a_test_needs_permission(tmp_path: Path) -> None:
    repo = project(tmp_path, {"tests/test_a.py": TEST_A})
    weak = TEST_A.replace("assert x == 1", "assert True")
    refused = attempt(repo, "weak", lambda wt: write(wt / "tests" / "test_a.py", weak))
    assert_refused(repo, "weak", refused, "tests weakened: tests/test_a.py (1 assertions removed, 0 added")
    rewritten = TEST_A.replace("assert x == 1", "assert x + 1 == 2")
    assert_lands(repo, "same", attempt(repo, "same", lambda wt: write(wt / "tests" / "test_a.py", rewritten)))


# -- 7: control characters ----------------------------------------------------------------------

@pytest.mark.parametrize(("path", "shown"), [("docs\nl.txt", '"docs\\nl.txt"'),
                                             ("src/e\x1b[31mred.py", '"src/e\\x1b[31mred.py"'),
                                             ("a\tb.txt", '"a\\tb.txt"')])
def test_control_characters_in_paths_are_refused_and_never_printed_raw(tmp_path: Path, path: str,
                                                                        shown: str) -> None:
    repo = project(tmp_path)
    # A credential too, so the secret rule also names the path in its reason.
    refused = attempt(repo, "ctl", lambda wt: write(wt / path, "key = '" + "AKIA" + "Q3EXAMPLE7KEY2ZZ'\n"))
    assert_refused(repo, "ctl", refused, f"control characters: {shown}")
    assert any(line.startswith("secret: ") and shown in line for line in refused.stdout.splitlines())
    assert "\x1b" not in refused.stdout + refused.stderr
    for command in (["status"], ["show", "ctl"], ["log"]):
        shown_out = uet(repo, *command)
        assert "\x1b" not in shown_out.stdout + shown_out.stderr, command


# -- 8: binaries that inflate -------------------------------------------------------------------

def test_binary_is_judged_on_its_inflated_size(tmp_path: Path) -> None:
    repo = project(tmp_path, patch_policy={"allow_binary": True, "max_binary_bytes": 1024 * 1024})

    def edit(worktree: Path) -> None:
        (worktree / "blob.bin").write_bytes(b"\0" * (4 * 1024 * 1024))  # deflates to a few KiB

    submitted = attempt(repo, "bomb", edit)
    assert_refused(repo, "bomb", submitted, "max_binary_bytes: blob.bin is 4194304 bytes (limit 1048576)")
    small = attempt(repo, "small", lambda wt: (wt / "small.bin").write_bytes(b"\0\1" * 100))
    assert_lands(repo, "small", small)
