from __future__ import annotations

from pathlib import Path

import pytest

from gitflow_uet.errors import UsageError
from gitflow_uet.integrate.integrator import integrate
from gitflow_uet.project import Project
from gitflow_uet.integrate.rollback import RollbackRefused, rollback
from tests.helpers import git, uet
from tests.integration_helpers import commit_on_main, make_project, queue_patch, record, state_of


def test_rollback_without_dependents_reverts_on_target(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", {"greet.txt": "hi\n"}, gates={"unit": "test -f greet.txt"})
    pid = queue_patch(repo, "ws-1", {"greet.txt": "hello\n", "new.txt": "new\n"}, title="Greet")
    integrate(Project.open(repo))
    landed = git(repo, "rev-parse", "main")

    assert rollback(Project.open(repo), "ws-1") == ["ws-1"]

    revert = git(repo, "rev-parse", "main")
    assert git(repo, "rev-parse", "main^") == landed
    assert git(repo, "log", "-1", "--format=%s", "main") == 'Revert "Greet (ws-1)"'
    body = git(repo, "log", "-1", "--format=%B", "main").splitlines()
    assert "Uet-Workstream: ws-1" in body and f"Uet-Revert: {landed}" in body
    assert git(repo, "show", "main:greet.txt") == "hi"
    assert git(repo, "ls-tree", "--name-only", "main", "new.txt") == ""
    ws = record(repo, "workstream", "ws-1")
    assert ws["state"] == "rolled_back" and ws["revert"] == revert
    assert state_of(repo, "patch", pid) == "rolled_back"
    # the checkout followed
    assert (repo / "greet.txt").read_text() == "hi\n" and not (repo / "new.txt").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_rollback_keeps_later_unrelated_changes(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", {"a.txt": "1\n2\n3\n4\n5\n6\n7\n"})
    queue_patch(repo, "ws-1", {"a.txt": "ONE\n2\n3\n4\n5\n6\n7\n"})
    integrate(Project.open(repo))
    commit_on_main(repo, {"a.txt": "ONE\n2\n3\n4\n5\n6\nSEVEN\n"}, "later edit")
    rollback(Project.open(repo), "ws-1")
    assert git(repo, "show", "main:a.txt") == "1\n2\n3\n4\n5\n6\nSEVEN"


def test_rollback_with_integrated_dependent_is_refused_naming_it(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    queue_patch(repo, "base", {"a.txt": "a\n"})
    queue_patch(repo, "mid", {"b.txt": "b\n"}, depends_on=["base"])
    queue_patch(repo, "top", {"c.txt": "c\n"}, depends_on=["mid"])
    integrate(Project.open(repo))
    tip = git(repo, "rev-parse", "main")

    with pytest.raises(UsageError, match="mid, top"):
        rollback(Project.open(repo), "base")
    assert git(repo, "rev-parse", "main") == tip and state_of(repo, "workstream", "base") == "integrated"
    cli = uet(repo, "rollback", "base")
    assert cli.returncode == 2 and "mid" in cli.stderr and "--cascade" in cli.stderr


def test_cascade_rolls_back_dependents_newest_first(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    queue_patch(repo, "base", {"a.txt": "a\n"})
    queue_patch(repo, "mid", {"b.txt": "b\n"}, depends_on=["base"])
    queue_patch(repo, "top", {"c.txt": "c\n"}, depends_on=["mid"])
    queue_patch(repo, "other", {"d.txt": "d\n"})
    integrate(Project.open(repo))

    cli = uet(repo, "rollback", "base", "--cascade")

    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.split() == ["rolled", "back", "top", "rolled", "back", "mid", "rolled", "back", "base"]
    subjects = git(repo, "log", "--format=%s", "-3", "main").splitlines()
    assert subjects == ['Revert "Change base (base)"', 'Revert "Change mid (mid)"', 'Revert "Change top (top)"']
    for ws in ("base", "mid", "top"):
        assert state_of(repo, "workstream", ws) == "rolled_back"
    assert state_of(repo, "workstream", "other") == "integrated"
    assert git(repo, "ls-tree", "--name-only", "main").split() == [".uet", "README.md", "d.txt", "workstreams"]


def test_rollback_that_conflicts_or_fails_a_gate_moves_nothing(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", {"a.txt": "x\n"}, gates={"unit": "test ! -e gone.flag || test -f b.txt"})
    queue_patch(repo, "ws-1", {"a.txt": "y\n"})
    queue_patch(repo, "ws-2", {"b.txt": "b\n"})
    integrate(Project.open(repo))
    commit_on_main(repo, {"a.txt": "z\n", "gone.flag": "1\n"}, "overwrites ws-1's line, arms the gate")
    tip = git(repo, "rev-parse", "main")

    with pytest.raises(RollbackRefused, match="conflicts with later changes to a.txt"):
        rollback(Project.open(repo), "ws-1")
    with pytest.raises(RollbackRefused, match="fails gate unit"):
        rollback(Project.open(repo), "ws-2")
    assert git(repo, "rev-parse", "main") == tip
    assert state_of(repo, "workstream", "ws-1") == state_of(repo, "workstream", "ws-2") == "integrated"


def test_only_integrated_workstreams_roll_back(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    with pytest.raises(UsageError, match="ws-1 is submitted"):
        rollback(Project.open(repo), "ws-1")
    cli = uet(repo, "rollback", "nope")
    assert cli.returncode == 2 and "nope" in cli.stderr


def test_kill_after_rollback_moved_target_checkout_catches_up_on_next_run(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", {"greet.txt": "hi\n"})
    queue_patch(repo, "ws-1", {"greet.txt": "hello\n"})
    integrate(Project.open(repo))

    killed = uet(repo, "rollback", "ws-1", env={"UET_FAULT": "rollback.landed"})
    assert killed.returncode == -9
    assert git(repo, "show", "main:greet.txt") == "hi" and state_of(repo, "workstream", "ws-1") == "rolled_back"
    assert (repo / "greet.txt").read_text() == "hello\n"  # the checkout has not followed yet

    again = uet(repo, "integrate")
    assert again.returncode == 0, again.stderr
    assert (repo / "greet.txt").read_text() == "hi\n" and git(repo, "status", "--porcelain") == ""
    assert "brought forward" in again.stderr
