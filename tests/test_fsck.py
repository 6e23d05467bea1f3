from __future__ import annotations

import json
import time
from pathlib import Path

from gitflow_uet.views.fsck import fsck
from gitflow_uet.integrate.integrator import integrate
from gitflow_uet.integrate.lease import LEASE_REF, LeaseInfo, read_lease
from gitflow_uet.project import Project
from tests.helpers import aged, git, stale_lock_age, uet, write
from tests.integration_helpers import make_project, queue_patch


def _landed(tmp_path: Path) -> Path:
    repo = make_project(tmp_path / "r", gates={"unit": "true"})
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    queue_patch(repo, "ws-2", {"b.txt": "b\n"})
    assert integrate(Project.open(repo)).landed == ["ws-1", "ws-2"]
    return repo


def test_clean_state_has_no_problems(tmp_path: Path) -> None:
    repo = _landed(tmp_path)
    report = fsck(Project.open(repo))
    assert report.problems == [] and report.ok
    cli = uet(repo, "fsck", "--json")
    assert cli.returncode == 0 and json.loads(cli.stdout) == {"ok": True, "problems": [], "repaired": []}


def test_deleted_note_is_reported_and_repaired(tmp_path: Path) -> None:
    repo = _landed(tmp_path)
    commit = git(repo, "rev-parse", "main^")
    note = git(repo, "notes", "--ref=uet", "show", commit)
    git(repo, "notes", "--ref=uet", "remove", commit)

    report = fsck(Project.open(repo))
    assert [(p.kind, p.item, p.repairable) for p in report.problems] == [("missing-note", "ws-1", True)]
    assert uet(repo, "fsck").returncode == 1

    repaired = fsck(Project.open(repo), repair=True)
    assert repaired.ok and len(repaired.repaired) == 1 and "ws-1" in repaired.repaired[0]
    assert git(repo, "notes", "--ref=uet", "show", commit) == note
    assert fsck(Project.open(repo)).problems == []


def test_orphaned_worktree_is_reported_and_removed_on_repair(tmp_path: Path) -> None:
    repo = _landed(tmp_path)
    orphan, dirty = repo / ".worktrees" / "left-behind", repo / ".worktrees" / "has-work"
    git(repo, "worktree", "add", "-q", "--detach", str(orphan), "main")
    git(repo, "worktree", "add", "-q", "--detach", str(dirty), "main")
    write(dirty / "unsaved.txt", "precious\n")

    report = fsck(Project.open(repo))
    found = {p.item: p for p in report.problems}
    assert set(found) == {".worktrees/left-behind", ".worktrees/has-work"}
    assert found[".worktrees/left-behind"].repairable and not found[".worktrees/has-work"].repairable
    assert "uncommitted" in found[".worktrees/has-work"].message

    after = fsck(Project.open(repo), repair=True)
    assert not orphan.exists() and (dirty / "unsaved.txt").read_text() == "precious\n"
    assert [p.item for p in after.remaining] == [".worktrees/has-work"]
    assert str(orphan) not in git(repo, "worktree", "list")


def test_stale_lock_is_reported_with_path_and_never_deleted(tmp_path: Path) -> None:
    repo = _landed(tmp_path)
    lock = repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    aged(lock, 3600)

    for repair in (False, True):
        report = fsck(Project.open(repo), repair=repair)
        assert [(p.kind, p.item) for p in report.remaining] == [("stale-lock", str(lock))]
        assert 3600 <= stale_lock_age(report.remaining[0].message, lock) < 3600 + 600
    assert lock.exists()
    cli = uet(repo, "fsck")
    assert cli.returncode == 1 and str(lock) in cli.stdout


def test_branch_of_integrated_workstream_and_expired_lease_are_repaired(tmp_path: Path) -> None:
    repo = _landed(tmp_path)
    project = Project.open(repo)
    head = project.ledger.state().get("patch", project.ledger.state().get("workstream", "ws-1")["patch"])["head"]
    git(repo, "branch", "uet/ws-1", head)
    stale = LeaseInfo("x", 1, "elsewhere", time.time() - 100, time.time() - 10)
    project.repo.update_ref(LEASE_REF, project.repo.write_blob(stale.to_bytes()), None, "test")

    report = fsck(project)
    assert sorted(p.kind for p in report.problems) == ["expired-lease", "stale-branch"]
    assert all(p.repairable for p in report.problems)
    repaired = fsck(Project.open(repo), repair=True)
    assert repaired.ok and len(repaired.repaired) == 2
    assert git(repo, "branch", "--list", "uet/ws-1") == "" and read_lease(project.repo) is None


def test_state_without_branch_is_reported(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    git(repo, "branch", "-D", "uet/ws-1")
    report = fsck(Project.open(repo))
    assert [(p.kind, p.item, p.repairable) for p in report.problems] == [("branch-missing", "ws-1", False)]
