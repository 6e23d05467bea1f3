"""Worktrees: where workstreams and the integrator's gates run.

Checkouts run with every filter driver neutralised (`Repo.filter_off_args`), so a
repository's clean/smudge programs never run on our behalf.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from gitflow_uet.errors import GitError
from gitflow_uet.git import Repo, zsplit


@dataclass(frozen=True)
class Worktree:
    path: Path
    head: str | None
    branch: str | None  # full ref name, or None when detached
    prunable: bool = False


def list_worktrees(repo: Repo) -> list[Worktree]:
    out = repo.run("worktree", "list", "--porcelain", "-z")
    trees: list[Worktree] = []
    fields: dict[str, str] = {}
    for item in zsplit(out.replace(b"\0\0", b"\0\x01\0")) + ["\x01"]:
        if item == "\x01":
            if "worktree" in fields:
                trees.append(Worktree(Path(fields["worktree"]), fields.get("HEAD"), fields.get("branch"),
                                      "prunable" in fields))
            fields = {}
            continue
        key, _, value = item.partition(" ")
        fields[key] = value
    return trees


def checkout_of(repo: Repo, branch_ref: str) -> Worktree | None:
    """The worktree that has `branch_ref` checked out, if any."""
    return next((w for w in list_worktrees(repo) if w.branch == branch_ref and not w.prunable), None)


def add_branch_worktree(repo: Repo, path: Path, branch: str, start: str, *,
                        sparse_dirs: list[str] | None = None, create: bool = True) -> None:
    """A worktree at `path` on branch `branch` (created at `start` when `create`).

    With `sparse_dirs`, the checkout is cone-sparse with a sparse index: only those
    directories (and top-level files) are written, so it costs little on a large tree.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    filters = repo.filter_off_args()
    branch_args = ["-b", branch, str(path), start] if create else [str(path), branch]
    if sparse_dirs is None:
        repo.run(*filters, "worktree", "add", "--quiet", *branch_args)
        return
    repo.run(*filters, "worktree", "add", "--quiet", "--no-checkout", *branch_args)
    repo.run("sparse-checkout", "set", "--cone", "--sparse-index", "--", *sparse_dirs, cwd=path)
    repo.run(*filters, "checkout", "--quiet", cwd=path)


def add_detached_worktree(repo: Repo, path: Path, commit: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    repo.run(*repo.filter_off_args(), "worktree", "add", "--quiet", "--detach", str(path), commit)


def reset_detached(repo: Repo, path: Path, commit: str) -> None:
    """Make a detached worktree hold exactly `commit`'s tree, with nothing else in it."""
    filters = repo.filter_off_args()
    repo.run(*filters, "checkout", "--quiet", "--force", "--detach", commit, cwd=path)
    repo.run("clean", "-q", "-ffdx", cwd=path)


def remove_worktree(repo: Repo, path: Path) -> None:
    """Remove a worktree and its administrative files; a folder already gone is pruned."""
    if path.exists():
        done = repo.run_result("worktree", "remove", "--force", "--force", str(path))
        if done.code != 0:
            if not any(w.path == path for w in list_worktrees(repo)):
                shutil.rmtree(path, ignore_errors=True)
            else:
                raise GitError(f"could not remove worktree {path}: {done.message}")
    repo.run("worktree", "prune")


def changed_paths(repo: Repo, path: Path) -> set[str]:
    """Paths with uncommitted changes in a worktree (staged, unstaged or untracked)."""
    out = repo.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", cwd=path)
    return {item[3:] for item in zsplit(out)}


def commit_all(repo: Repo, path: Path, message: str) -> str | None:
    """Commit everything uncommitted in a worktree (hooks off); the new HEAD, or None when
    there was nothing to commit."""
    if not changed_paths(repo, path):
        return None
    repo.run("add", "--all", cwd=path)
    repo.run("commit", "--quiet", "--no-verify", "--allow-empty-message", "-m", message, cwd=path)
    return repo.run("rev-parse", "HEAD", cwd=path).decode().strip()


def fast_forward_checkout(repo: Repo, path: Path, old: str, new: str) -> None:
    """Bring a checkout whose branch moved from `old` to `new` forward, as
    `git merge --ff-only` would have: index and files follow, local edits are kept
    (two-tree `read-tree -m -u` refuses rather than overwrite them)."""
    repo.run(*repo.filter_off_args(), "read-tree", "-m", "-u", old, new, cwd=path)
