from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from gitflow_uet.errors import TransitionError, UsageError
from gitflow_uet.ledger.store import Change
from gitflow_uet.project import Project
from gitflow_uet.workstream.secrets import digest
from gitflow_uet.workstream.lifecycle import reset, start, submit
from tests.helpers import git, make_repo, uet, write, write_spec

AWS_KEY = "AKIA" + "Q3EXAMPLE7KEY2ZZ"
AWS_SAK = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"README.md": "hello\n", "src/app.py": "x = 1\n", "docs/a.md": "doc\n"})
    write_spec(root, "ws-1", title="Change the app", scope=["src/**"])
    write_spec(root, "ws-2", title="Depends on one", depends_on=["ws-1"])
    _commit(root, "specs")
    return root


def _commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def _record(root: Path, ws_id: str, kind: str = "workstream") -> dict:
    return Project.open(root).ledger.state().get(kind, ws_id) or {}


def _ref(root: Path, ref: str) -> str | None:
    out = git(root, "rev-parse", "-q", "--verify", ref, check=False)
    return out or None


def test_start_makes_branch_worktree_and_running_record(root: Path) -> None:
    tip = git(root, "rev-parse", "main")
    result = start(Project.open(root), "ws-1")
    assert result.created and result.path == root / ".worktrees" / "ws-1"
    assert (result.path / "src" / "app.py").read_text() == "x = 1\n"
    assert _ref(root, "refs/heads/uet/ws-1") == tip
    assert git(result.path, "symbolic-ref", "HEAD") == "refs/heads/uet/ws-1"
    record = _record(root, "ws-1")
    assert {k: record[k] for k in ("state", "title", "branch", "base", "worktree", "attempt")} == {
        "state": "running", "title": "Change the app", "branch": "uet/ws-1", "base": tip,
        "worktree": ".worktrees/ws-1", "attempt": 1}
    # new -> planned -> running is one ledger commit
    assert git(root, "log", "--format=%s", "refs/uet").splitlines() == [
        "ws-1: planned → running (start) (+1 more)"]
    again = start(Project.open(root), "ws-1")
    assert again.path == result.path and not again.created
    assert len(git(root, "log", "--format=%H", "refs/uet").splitlines()) == 1


def test_cli_start_prints_only_the_path(root: Path) -> None:
    first = uet(root, "start", "ws-1")
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"{root / '.worktrees' / 'ws-1'}\n"
    second = uet(root, "start", "ws-1")
    assert second.returncode == 0 and second.stdout == first.stdout


def test_dependency_not_integrated_is_refused_unless_forced(root: Path) -> None:
    refused = uet(root, "start", "ws-2")
    assert refused.returncode == 2
    assert "ws-1" in refused.stderr and "Traceback" not in refused.stderr
    assert _ref(root, "refs/heads/uet/ws-2") is None and not (root / ".worktrees" / "ws-2").exists()
    forced = uet(root, "start", "ws-2", "--force")
    assert forced.returncode == 0, forced.stderr
    assert _record(root, "ws-2")["state"] == "running"


def test_unknown_workstream_and_missing_target_are_usage_errors(root: Path) -> None:
    assert uet(root, "start", "nope").returncode == 2
    write(root / ".uet" / "config.yaml", "schema_version: 1\ntarget: trunk\n")
    with pytest.raises(UsageError, match="target branch 'trunk' does not exist"):
        start(Project.open(root), "ws-1")


def test_sparse_worktree_holds_only_the_scope(root: Path) -> None:
    write(root / ".uet" / "config.yaml", "schema_version: 1\nsparse_worktrees: true\n")
    _commit(root, "sparse")
    path = start(Project.open(root), "ws-1").path
    assert (path / "src" / "app.py").is_file() and (path / "README.md").is_file()
    assert not (path / "docs").exists() and not (path / "workstreams").exists()
    # ws-2 has no scope: a full checkout
    full = start(Project.open(root), "ws-2", force=True).path
    assert (full / "docs" / "a.md").is_file()


def test_submit_commits_edits_and_queues_the_exact_diff(root: Path) -> None:
    path = start(Project.open(root), "ws-1").path
    write(path / "src" / "app.py", "x = 2\n")
    write(path / "src" / "new.py", "y = 1\n")
    done = uet(root, "submit", "ws-1")
    assert done.returncode == 0, done.stderr
    patch_id = done.stdout.strip().removeprefix("queued patch ")
    ws = _record(root, "ws-1")
    patch = _record(root, patch_id, "patch")
    head = _ref(root, "refs/heads/uet/ws-1")
    assert ws["state"] == "submitted" and ws["patch"] == patch_id
    assert patch["state"] == "queued" and patch["workstream"] == "ws-1"
    assert (patch["base"], patch["head"]) == (ws["base"], head)
    assert patch["files"] == ["src/app.py", "src/new.py"] and patch["lines"] == 3
    assert patch["priority"] == 2 and patch["depends_on"] == []
    assert git(path, "status", "--porcelain") == ""
    assert git(root, "log", "-1", "--format=%s", "uet/ws-1") == "Change the app (ws-1)"
    expected = subprocess.run(["git", "diff", "--binary", "--full-index", "-M", ws["base"], head],
                              cwd=root, capture_output=True, check=True).stdout
    stored = Project.open(root).ledger.state().blob(patch["diff"]["blob"])
    assert stored == expected
    assert patch["sha256"] == hashlib.sha256(expected).hexdigest()
    assert path.is_dir()  # kept until the integrator lands it


def test_rejected_submit_quarantines_branch_and_removes_worktree(root: Path) -> None:
    path = start(Project.open(root), "ws-1").path
    write(path / "docs" / "a.md", "outside the scope\n")
    done = uet(root, "submit", "ws-1")
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["scope: docs/a.md"]
    ws = _record(root, "ws-1")
    assert ws["state"] == "quarantined" and ws["branch"] == "uet/quarantine/ws-1" and ws["worktree"] is None
    assert ws["reasons"] == done.stdout.splitlines()
    patch = _record(root, ws["patch"], "patch")
    assert patch["state"] == "quarantined" and patch["reasons"] == ws["reasons"]
    assert _ref(root, "refs/heads/uet/ws-1") is None
    assert git(root, "log", "-1", "--format=%s", "uet/quarantine/ws-1") == "Change the app (ws-1)"
    assert not path.exists()
    # A refused patch is recorded by its metadata: refs/uet travels with `git push`.
    assert "diff" not in patch and patch["files"] == ["docs/a.md"] and patch["bytes"] > 0
    assert len(patch["sha256"]) == 64
    assert "blobs/" not in git(root, "ls-tree", "-r", "refs/uet")


def test_secret_committed_by_a_task_is_refused_and_kept_out_of_the_ledger(root: Path) -> None:
    path = start(Project.open(root), "ws-1").path
    write(path / "src" / "keys.py", f"aws = '{AWS_KEY}'\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "the task committed it itself")
    done = uet(root, "submit", "ws-1")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"secret: aws-access-key, src/keys.py:1, {digest(AWS_KEY)}"]
    patch = _record(root, _record(root, "ws-1")["patch"], "patch")
    assert "diff" not in patch
    dump = subprocess.run(["git", "log", "-p", "refs/uet"], cwd=root, capture_output=True).stdout
    assert AWS_KEY.encode() not in dump and "blobs/" not in git(root, "ls-tree", "-r", "refs/uet")


def test_uncommitted_secret_is_refused_before_any_object_holds_it(root: Path) -> None:
    path = start(Project.open(root), "ws-1").path
    head = git(path, "rev-parse", "HEAD")
    write(path / "src" / "app.py", f"x = 1\nAWS_SECRET_ACCESS_KEY=\"{AWS_SAK}\"\n")
    write(path / "src" / "config.py", f"key = '{AWS_KEY}'\n")
    done = uet(root, "submit", "ws-1")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"secret: aws-access-key, src/app.py:2, {digest(AWS_SAK)}",
        f"secret: aws-access-key, src/config.py:1, {digest(AWS_KEY)}",
        "uncommitted: nothing was committed; the changes stay in .worktrees/ws-1 (detached): remove the "
        "secrets there"]
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root,
                             capture_output=True, check=True).stdout
    assert AWS_KEY.encode() not in objects and AWS_SAK.encode() not in objects
    assert AWS_KEY not in done.stdout + done.stderr
    ws = _record(root, "ws-1")
    assert ws["state"] == "quarantined" and ws["worktree"] is None
    assert _record(root, ws["patch"], "patch")["files"] == ["src/app.py", "src/config.py"]
    # The user's work is where it was, on the commit it started from, no longer on the branch.
    assert (path / "src" / "config.py").read_text() == f"key = '{AWS_KEY}'\n"
    assert git(path, "rev-parse", "HEAD") == head
    assert git(path, "symbolic-ref", "-q", "HEAD", check=False) == ""
    assert _ref(root, "refs/heads/uet/quarantine/ws-1") == head

def test_empty_submit_is_rejected(root: Path) -> None:
    start(Project.open(root), "ws-1")
    result = submit(Project.open(root), "ws-1")
    assert not result.ok and result.reasons == ["empty: the workstream changed nothing"]
    assert _record(root, "ws-1")["state"] == "quarantined"


def test_reset_then_fresh_start(root: Path) -> None:
    path = start(Project.open(root), "ws-1").path
    write(path / "docs" / "a.md", "out of scope\n")
    rejected = submit(Project.open(root), "ws-1")
    quarantined_tip = _ref(root, "refs/heads/uet/quarantine/ws-1")
    git(root, "commit", "-q", "--allow-empty", "-m", "target moves on")
    reset(Project.open(root), "ws-1")
    ws = _record(root, "ws-1")
    assert ws["state"] == "planned" and ws["attempt"] == 2 and ws["reasons"] == []
    assert _record(root, rejected.patch_id, "patch")["state"] == "dropped"
    assert _ref(root, "refs/heads/uet/quarantine/ws-1") == quarantined_tip
    fresh = start(Project.open(root), "ws-1")
    assert fresh.created and (fresh.path / "docs" / "a.md").read_text() == "doc\n"
    assert _ref(root, "refs/heads/uet/ws-1") == git(root, "rev-parse", "main")
    ws = _record(root, "ws-1")
    assert ws["state"] == "running" and ws["attempt"] == 2 and ws["base"] == git(root, "rev-parse", "main")


def test_reset_refuses_running_and_unknown(root: Path) -> None:
    start(Project.open(root), "ws-1")
    with pytest.raises(TransitionError, match="ws-1 is running; it cannot be reset"):
        reset(Project.open(root), "ws-1")
    assert uet(root, "reset", "ws-1").returncode == 2
    assert uet(root, "reset", "nope").returncode == 2
    assert uet(root, "submit", "ws-2").returncode == 2  # not started


@pytest.mark.parametrize("via_reset", [False, True])
def test_start_from_quarantine_resumes_the_quarantined_commit(root: Path, via_reset: bool) -> None:
    project = Project.open(root)
    path = start(project, "ws-1").path
    write(path / "src" / "app.py", "x = 2\n")
    write(path / "docs" / "a.md", "stray\n")
    rejected = submit(Project.open(root), "ws-1")
    base = _record(root, "ws-1")["base"]
    quarantined = _ref(root, "refs/heads/uet/quarantine/ws-1")
    git(root, "commit", "-q", "--allow-empty", "-m", "target moves on")
    if via_reset:
        reset(Project.open(root), "ws-1")
    done = uet(root, "start", "ws-1", "--from-quarantine")
    assert done.returncode == 0, done.stderr
    assert _ref(root, "refs/heads/uet/ws-1") == quarantined
    assert _ref(root, "refs/heads/uet/quarantine/ws-1") is None
    ws = _record(root, "ws-1")
    assert ws["state"] == "running" and ws["base"] == base and ws["attempt"] == 2
    assert _record(root, rejected.patch_id, "patch")["state"] == "dropped"
    assert (path / "src" / "app.py").read_text() == "x = 2\n"
    # fix the stray edit and submit again: queued
    git(path, "checkout", "-q", base, "--", "docs/a.md")
    assert submit(Project.open(root), "ws-1").ok


def test_kill_between_worktree_and_ledger_then_rerun_converges(root: Path) -> None:
    killed = uet(root, "start", "ws-1", env={"UET_FAULT": "start.after-worktree"})
    assert killed.returncode == -9
    path = root / ".worktrees" / "ws-1"
    assert path.is_dir() and _ref(root, "refs/heads/uet/ws-1") is not None
    assert _record(root, "ws-1") == {}
    rerun = uet(root, "start", "ws-1")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == str(path)
    ws = _record(root, "ws-1")
    assert ws["state"] == "running" and ws["base"] == git(root, "rev-parse", "main")
    assert len(git(root, "worktree", "list", "--porcelain").split("\n\n")) == 2


def test_lost_race_removes_what_start_made(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = Project.open(root)
    real = project.ledger.update

    def racing(decide):  # another process blocks the workstream first
        real(lambda _s: [Change("workstream", "ws-1", "planned", "plan"),
                         Change("workstream", "ws-1", "blocked", "dependency")])
        return real(decide)

    monkeypatch.setattr(project.ledger, "update", racing)
    with pytest.raises(TransitionError):
        start(project, "ws-1")
    assert _ref(root, "refs/heads/uet/ws-1") is None
    assert not (root / ".worktrees" / "ws-1").exists()


def test_reset_of_failed_removes_worktree_and_branch(root: Path) -> None:
    project = Project.open(root)
    path = start(project, "ws-1").path
    write(path / "src" / "app.py", "half done\n")
    project.ledger.append(Change("workstream", "ws-1", "failed", "task", {"reasons": ["task edit: exit 1"]}))
    done = uet(root, "reset", "ws-1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "ws-1: planned (attempt 2)"
    assert "uncommitted work saved in refs/uet-saved/ws-1/1" in done.stdout  # never deleted
    assert git(root, "show", "refs/uet-saved/ws-1/1:src/app.py") == "half done"
    assert not path.exists() and _ref(root, "refs/heads/uet/ws-1") is None
    assert "ws-1" not in git(root, "worktree", "list")
    ws = _record(root, "ws-1")
    assert ws["state"] == "planned" and ws["reasons"] == [] and ws["worktree"] is None
    again = start(Project.open(root), "ws-1")
    assert (again.path / "src" / "app.py").read_text() == "x = 1\n"
