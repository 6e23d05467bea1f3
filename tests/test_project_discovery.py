"""Issue 7.1 / 8.14: every command finds the project through the common git dir, from any
worktree or subfolder, and no command deletes uncommitted work in a worktree."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gitflow_uet.errors import NotARepository
from gitflow_uet.git import Repo
from gitflow_uet.ledger.store import Change
from gitflow_uet.project import Project
from tests.helpers import git, make_repo, uet, write, write_spec


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"README.md": "hello\n", "pkg/mod.py": "x = 1\n"})
    for ws_id in ("a", "b"):
        write_spec(root, ws_id, title=f"Workstream {ws_id}")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "specs")
    return root


def _record(root: Path, ws_id: str, kind: str = "workstream") -> dict:
    return Project.open(root).ledger.state().get(kind, ws_id) or {}


def test_repo_found_from_a_linked_worktree_subfolder_is_the_project(root: Path) -> None:
    done = uet(root, "start", "a")
    assert done.returncode == 0, done.stderr
    inner = root / ".worktrees" / "a" / "pkg"
    repo = Repo.discover(inner)
    assert repo.root == root and repo.common_dir == root / ".git" and repo.here == root / ".worktrees" / "a"
    assert Repo.discover(root / "pkg").root == root


def test_start_inside_a_workstreams_worktree_starts_in_the_project(root: Path) -> None:
    assert uet(root, "start", "a").returncode == 0
    done = uet(root / ".worktrees" / "a" / "pkg", "start", "b")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(root / ".worktrees" / "b")
    assert (root / ".worktrees" / "b" / "pkg" / "mod.py").exists()
    assert not (root / ".worktrees" / "a" / ".worktrees").exists()
    assert _record(root, "b")["worktree"] == ".worktrees/b"


@pytest.mark.parametrize("named", [False, True])
def test_submit_inside_the_worktree_submits_its_real_edit(root: Path, named: bool) -> None:
    assert uet(root, "start", "a").returncode == 0
    tree = root / ".worktrees" / "a"
    write(tree / "pkg" / "mod.py", "x = 2\n")
    write(tree / "pkg" / "new.py", "y = 1\n")
    done = uet(tree / "pkg", "submit", *(["a"] if named else []))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "queued patch" in done.stdout and "empty" not in done.stdout + done.stderr
    ws = _record(root, "a")
    assert ws["state"] == "submitted"
    patch = _record(root, ws["patch"], "patch")
    assert patch["state"] == "queued" and sorted(patch["files"]) == ["pkg/mod.py", "pkg/new.py"]
    assert git(root, "rev-parse", "-q", "--verify", "refs/heads/uet/quarantine/a", check=False) == ""
    # the worktree is still on its branch, which holds the edit
    assert git(tree, "symbolic-ref", "HEAD") == "refs/heads/uet/a"
    assert git(tree, "show", "HEAD:pkg/mod.py") == "x = 2"


def test_submit_without_id_outside_a_worktree_says_so(root: Path) -> None:
    done = uet(root, "submit")
    assert done.returncode == 2
    assert "name the workstream" in done.stderr and "Traceback" not in done.stderr


def test_reset_then_start_never_deletes_an_uncommitted_edit(root: Path) -> None:
    project = Project.open(root)
    assert uet(root, "start", "a").returncode == 0
    tree = root / ".worktrees" / "a"
    write(tree / "pkg" / "mod.py", "precious edit\n")
    write(tree / "notes.txt", "untracked too\n")
    git(tree, "add", "notes.txt")  # staged, in the user's index
    write(tree / "scratch.txt", "never added\n")
    project.ledger.append(Change("workstream", "a", "failed", "task", {"reasons": ["task edit: exit 1"]}))
    done = uet(tree / "pkg", "reset", "a")
    assert done.returncode == 0, done.stderr
    assert "refs/uet-saved/a/1" in done.stdout
    assert not tree.exists()
    saved = "refs/uet-saved/a/1"
    assert git(root, "show", f"{saved}:pkg/mod.py") == "precious edit"
    assert git(root, "show", f"{saved}:notes.txt") == "untracked too"
    assert git(root, "show", f"{saved}:scratch.txt") == "never added"
    assert uet(root, "start", "a").returncode == 0
    assert (tree / "pkg" / "mod.py").read_text() == "x = 1\n"  # a fresh attempt...
    assert git(root, "rev-parse", saved)  # ...and the old work still there


def test_saving_work_leaves_the_users_index_alone(root: Path) -> None:
    from gitflow_uet.git.worktrees import save_changes

    project = Project.open(root)
    assert uet(root, "start", "a").returncode == 0
    tree = root / ".worktrees" / "a"
    write(tree / "pkg" / "mod.py", "edited\n")
    write(tree / "untracked.txt", "u\n")
    before = git(tree, "status", "--porcelain")
    ref = save_changes(project.repo, tree, "a")
    assert ref == "refs/uet-saved/a/1"
    assert git(tree, "status", "--porcelain") == before
    assert git(root, "show", f"{ref}:untracked.txt") == "u"
    assert save_changes(project.repo, tree, "b") is not None
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "done")
    assert save_changes(project.repo, tree, "a") is None  # nothing uncommitted: nothing saved


def test_a_repository_owned_by_another_user_gets_gits_safe_directory_message(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the repository to another user")
    repo = make_repo(tmp_path / "theirs")
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, 12345, 12345)
    probe = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=repo, capture_output=True, text=True)
    if probe.returncode == 0 or "dubious ownership" not in probe.stderr:
        pytest.skip("this git does not refuse a repository owned by another user")
    with pytest.raises(NotARepository, match="dubious ownership"):
        Repo.discover(repo)
    done = uet(repo, "status")
    assert done.returncode == 2
    assert "dubious ownership" in done.stderr and "safe.directory" in done.stderr
    assert "not a git repository" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    shutil.rmtree(repo)


def test_removing_a_worktree_on_an_unborn_branch_saves_its_files(root: Path) -> None:
    from gitflow_uet.git.worktrees import remove_worktree

    tree = root / ".worktrees" / "x"
    git(root, "worktree", "add", "-q", "--detach", str(tree))
    git(tree, "checkout", "-q", "--orphan", "fresh")
    write(tree / "only.txt", "new\n")
    ref = remove_worktree(Project.open(root).repo, tree, saved_as="x")
    assert ref == "refs/uet-saved/x/1" and not tree.exists()
    assert git(root, "show", f"{ref}:only.txt") == "new"
