"""Keeping the target branch's checkout in step with the target, cheaply: every question
is asked only about the paths that change, so it costs the same in a checkout of 200
files as in one of 20,000 (no full `git status`, no full index comparison)."""

from __future__ import annotations

from pathlib import Path

from gitflow_uet.errors import GitError
from gitflow_uet.git import Repo, zsplit


def dirty_paths(repo: Repo, worktree: Path, paths: list[str]) -> set[str]:
    """Which of `paths` have uncommitted changes in the worktree: staged, unstaged,
    untracked or ignored (any file where the target is about to add one counts)."""
    if not paths:
        return set()
    # Literal pathspecs: a patch's paths may contain `*` or `?`, which are not globs here;
    # with them, status only refreshes and walks what they name. No optional locks: status
    # would otherwise rewrite the user's whole index (most of its cost at 20k files) and
    # could collide with the user's own git command.
    out = repo.run("--no-optional-locks", "--literal-pathspecs", "status", "--porcelain=v1", "-z", "--untracked-files=all",
                   "--ignored=matching", "--no-renames", "--", *paths, cwd=worktree)
    dirty = {item[3:] for item in zsplit(out)}
    # A file (or symlink) where the target needs a folder blocks the checkout as surely.
    for path in paths:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            parent = "/".join(parts[:depth])
            where = worktree / parent
            if where.is_symlink() or where.is_file():
                dirty.add(parent)
                break
    return dirty


def index_matches(repo: Repo, worktree: Path, commit: str, paths: list[str]) -> bool:
    """Whether the index of the worktree at `worktree` holds `commit`'s version of every
    path in `paths` (staged state only; the files themselves are not looked at)."""
    if not paths:
        return True
    done = repo.run_result("--literal-pathspecs", "diff-index", "--cached", "--quiet", "--no-renames",
                           commit, "--", *paths, cwd=worktree)
    if done.code not in (0, 1):
        raise GitError(f"git diff-index failed: {done.message}")
    return done.code == 0
