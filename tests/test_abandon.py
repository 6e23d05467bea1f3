"""Issue 9.10: a workstream started by hand can be abandoned (its work saved, never
deleted), and reset takes several ids and --failed / --quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitflow_uet.ledger.store import Change
from gitflow_uet.project import Project
from tests.helpers import git, make_repo, uet, write, write_spec


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"README.md": "hello\n"})
    for ws_id in ("a", "b", "c", "d"):
        write_spec(root, ws_id)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "specs")
    return root


def _ws(root: Path, ws_id: str) -> dict:
    return Project.open(root).ledger.state().get("workstream", ws_id) or {}


def test_abandon_a_running_workstream_saves_its_work_and_plans_it_again(root: Path) -> None:
    assert uet(root, "start", "a").returncode == 0
    tree = root / ".worktrees" / "a"
    write(tree / "done.txt", "committed\n")
    git(tree, "add", "done.txt")
    git(tree, "commit", "-q", "-m", "some work")
    write(tree / "wip.txt", "uncommitted\n")
    assert uet(root, "reset", "a").returncode == 2  # reset refuses a running one...
    done = uet(root, "abandon", "a")  # ...abandon drops it
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "a: abandoned, planned (attempt 2)"
    assert "refs/uet-saved/a/1" in done.stdout
    assert git(root, "show", "refs/uet-saved/a/1:wip.txt") == "uncommitted"
    assert git(root, "show", "refs/uet-saved/a/1:done.txt") == "committed"
    assert not tree.exists() and git(root, "rev-parse", "-q", "--verify", "refs/heads/uet/a", check=False) == ""
    ws = _ws(root, "a")
    assert ws["state"] == "planned" and ws["worktree"] is None and "refs/uet-saved/a/1" in ws["reasons"][0]
    log = json.loads(uet(root, "log", "a", "--json").stdout)["entries"]
    assert any(e.get("event") == "abandon" for e in log) or "abandon" in json.dumps(log)
    assert uet(root, "start", "a").returncode == 0  # a fresh attempt from the target
    assert not (tree / "wip.txt").exists()


def test_abandon_keeps_committed_work_of_a_clean_worktree(root: Path) -> None:
    assert uet(root, "start", "a").returncode == 0
    tree = root / ".worktrees" / "a"
    write(tree / "done.txt", "committed\n")
    git(tree, "add", "done.txt")
    git(tree, "commit", "-q", "-m", "some work")
    done = uet(root, "abandon", "a")
    assert done.returncode == 0, done.stderr
    assert git(root, "show", "refs/uet-saved/a/1:done.txt") == "committed"


def test_abandon_refuses_what_is_not_started_or_submitted(root: Path) -> None:
    assert uet(root, "abandon", "a").returncode == 2
    assert uet(root, "abandon", "nope").returncode == 2
    assert uet(root, "start", "b").returncode == 0
    write(root / ".worktrees" / "b" / "x.txt", "x\n")
    assert uet(root, "submit", "b").returncode == 0
    done = uet(root, "abandon", "b")
    assert done.returncode == 2 and "submitted" in done.stderr
    assert _ws(root, "b")["state"] == "submitted"


def test_reset_of_several_ids_and_of_every_failed_one(root: Path) -> None:
    project = Project.open(root)
    for ws_id in ("a", "b", "c", "d"):
        assert uet(root, "start", ws_id).returncode == 0
    for ws_id in ("a", "b", "c"):
        project.ledger.append(Change("workstream", ws_id, "failed", "task", {"reasons": ["task edit: exit 1"]}))
    done = uet(root, "reset", "a", "b")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["a: planned (attempt 2)", "b: planned (attempt 2)"]
    assert _ws(root, "c")["state"] == "failed"
    done = uet(root, "reset", "--failed")
    assert done.returncode == 0 and done.stdout.splitlines() == ["c: planned (attempt 2)"]
    assert _ws(root, "d")["state"] == "running"  # only failed ones
    done = uet(root, "reset", "--failed")
    assert done.returncode == 0 and "nothing to reset" in done.stdout
    done = uet(root, "reset", "d", "a")  # one refused: the others still done, exit 2
    assert done.returncode == 2 and "d is running" in done.stderr


def test_abandon_refuses_a_workstream_a_live_run_holds(root: Path) -> None:
    import signal
    import subprocess
    import sys

    from tests.helpers import wait_until

    write_spec(root, "slow", tasks=[{"id": "edit", "run": "sleep 300"}])  # outlasts any load
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "slow")
    run = subprocess.Popen([sys.executable, "-m", "gitflow_uet", "run", "slow"], cwd=root,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: _ws(root, "slow").get("state") == "running" and _ws(root, "slow").get("worker"),
                   what="the run to start slow")
        done = uet(root, "abandon", "slow")
        assert done.returncode == 2 and "live `git uet run`" in done.stderr
        assert _ws(root, "slow")["state"] == "running"
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=120)
