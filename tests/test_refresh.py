"""Issue 7.2: a rebased workstream's patch is what its branch adds over its merge-base
with the current target, and `git uet refresh` rebases a workstream onto the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitflow_uet.project import Project
from tests.helpers import git, make_repo, uet, write, write_spec


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"README.md": "hello\n", "src/app.py": "x = 1\n"})
    write_spec(root, "a", title="A", scope=["src/**"])
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "specs")
    return root


def _record(root: Path, item: str, kind: str = "workstream") -> dict:
    return Project.open(root).ledger.state().get(kind, item) or {}


def _land_elsewhere(root: Path) -> str:
    """Someone else's work lands on main meanwhile (outside a's scope)."""
    write(root / "docs" / "other.md", "theirs\n" * 20)
    git(root, "add", "docs/other.md")
    git(root, "commit", "-q", "-m", "other work")
    return git(root, "rev-parse", "main")


def _work(tree: Path, text: str = "x = 2\n") -> None:
    write(tree / "src" / "app.py", text)
    git(tree, "commit", "-q", "-am", "a's work")


def test_a_rebased_workstreams_patch_holds_only_its_own_work(root: Path) -> None:
    assert uet(root, "start", "a").returncode == 0
    tree = root / ".worktrees" / "a"
    _work(tree)
    tip = _land_elsewhere(root)
    git(tree, "rebase", "-q", "main")
    done = uet(root, "submit", "a")
    assert done.returncode == 0, done.stdout + done.stderr
    ws = _record(root, "a")
    patch = _record(root, ws["patch"], "patch")
    assert patch["files"] == ["src/app.py"] and patch["lines"] == 2
    assert patch["base"] == tip and ws["base"] == tip


def test_refresh_replays_the_branch_onto_the_target(root: Path) -> None:
    assert uet(root, "start", "a").returncode == 0
    tree = root / ".worktrees" / "a"
    _work(tree)
    write(tree / "src" / "more.py", "y = 1\n")
    git(tree, "add", "src/more.py")
    git(tree, "commit", "-q", "-m", "more")
    tip = _land_elsewhere(root)
    done = uet(tree / "src", "refresh")
    assert done.returncode == 0, done.stderr
    assert "2 commit(s) replayed onto main" in done.stdout
    log = git(root, "log", "--format=%s|%an", f"{tip}..uet/a").splitlines()
    assert log == ["more|Test Author", "a's work|Test Author"]
    assert git(tree, "status", "--porcelain") == ""
    assert (tree / "docs" / "other.md").exists() and (tree / "src" / "app.py").read_text() == "x = 2\n"
    assert _record(root, "a")["base"] == tip
    assert uet(root, "refresh", "a").stdout.startswith("a: already on main")
    assert uet(root, "submit", "a").returncode == 0
    patch = _record(root, _record(root, "a")["patch"], "patch")
    assert sorted(patch["files"]) == ["src/app.py", "src/more.py"]


def test_refresh_conflict_names_the_paths_and_changes_nothing(root: Path) -> None:
    assert uet(root, "start", "a").returncode == 0
    tree = root / ".worktrees" / "a"
    _work(tree, "x = 'ours'\n")
    head = git(root, "rev-parse", "uet/a")
    write(root / "src" / "app.py", "x = 'theirs'\n")
    git(root, "commit", "-q", "-am", "conflicting")
    before = git(root, "log", "--format=%H", "refs/uet")
    done = uet(root, "refresh", "a")
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["conflict: src/app.py"]
    assert "nothing changed" in done.stderr
    assert git(root, "rev-parse", "uet/a") == head
    assert (tree / "src" / "app.py").read_text() == "x = 'ours'\n" and git(tree, "status", "--porcelain") == ""
    assert git(root, "log", "--format=%H", "refs/uet") == before


def test_refresh_refuses_a_worktree_with_uncommitted_changes(root: Path) -> None:
    assert uet(root, "start", "a").returncode == 0
    tree = root / ".worktrees" / "a"
    write(tree / "src" / "app.py", "uncommitted\n")
    _land_elsewhere(root)
    done = uet(root, "refresh", "a")
    assert done.returncode == 2 and "uncommitted changes (src/app.py)" in done.stderr
    assert (tree / "src" / "app.py").read_text() == "uncommitted\n"
