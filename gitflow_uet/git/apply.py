"""Applying a diff to a worktree's files with `git apply` (never a shell, never the index)."""

from __future__ import annotations

from pathlib import Path

from gitflow_uet.git import Repo, zsplit


def apply_patch(worktree: Path, diff: bytes, *, check: bool) -> tuple[bool, str]:
    """Apply `diff` to the files of `worktree` (or only check that it applies).

    git apply is all-or-nothing: on failure no file is changed. Returns (ok, message),
    the message being git's complaint on failure.
    """
    args = ["apply", "--whitespace=nowarn"] + (["--check"] if check else []) + ["-"]
    with Repo.discover(worktree) as repo:
        done = repo.run_result(*args, input=diff, cwd=Path(worktree))
    if done.code == 0:
        return True, ""
    return False, done.message


def patch_paths(worktree: Path, diff: bytes) -> list[str] | None:
    """The paths git itself reads from `diff` (after a rename, the new name), or None when
    git cannot parse it. Nothing is applied."""
    with Repo.discover(worktree) as repo:
        done = repo.run_result("apply", "--numstat", "-z", "-", input=diff, cwd=Path(worktree))
    if done.code != 0:
        return None
    paths = []
    for item in zsplit(done.out):
        # `added\tdeleted\tpath`; a rename may come as `added\tdeleted\t` then both names.
        fields = item.split("\t", 2)
        name = fields[2] if len(fields) == 3 else item
        if name:
            paths.append(name)
    return paths
