from __future__ import annotations

from pathlib import Path

from gitflow_uet.git import Repo
from gitflow_uet.git.notes import FANOUT_AT, NOTES_REF, add_note, note_update, noted_commits
from tests.helpers import git, make_repo


def _commits(repo: Path, count: int) -> list[str]:
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    return [git(repo, "commit-tree", tree, "-m", f"c{n}") for n in range(count)]


def test_in_process_notes_read_back_by_git_across_fanout(tmp_path: Path) -> None:
    path = make_repo(tmp_path / "r", uet=False)
    repo = Repo.discover(path)
    commits = _commits(path, FANOUT_AT + 40)
    for n, commit in enumerate(commits):
        update = note_update(repo, commit, f"Uet-Workstream: ws-{n}\n")
        repo.update_refs([update], "test")
    assert noted_commits(repo) == set(commits)
    assert git(path, "notes", "--ref=uet", "show", commits[7]) == "Uet-Workstream: ws-7"
    top = git(path, "ls-tree", "--name-only", NOTES_REF).split()
    assert all(len(name) == 2 for name in top)  # fanned out once past the threshold
    # git's own writer and ours keep working on each other's trees
    add_note(repo, commits[3], "replaced by git\n")
    repo.update_refs([note_update(repo, commits[5], "replaced by us\n")], "test")
    assert git(path, "notes", "--ref=uet", "show", commits[3]) == "replaced by git"
    assert git(path, "notes", "--ref=uet", "show", commits[5]) == "replaced by us"
    assert len(noted_commits(repo)) == len(commits)
    assert git(path, "fsck", "--no-dangling") == ""


def test_replacing_a_flat_note_leaves_one_note(tmp_path: Path) -> None:
    path = make_repo(tmp_path / "r", uet=False)
    repo = Repo.discover(path)
    (commit,) = _commits(path, 1)
    add_note(repo, commit, "first\n")
    repo.update_refs([note_update(repo, commit, "second\n")], "test")
    assert git(path, "notes", "--ref=uet", "list").count(commit) == 1
    assert git(path, "notes", "--ref=uet", "show", commit) == "second"
