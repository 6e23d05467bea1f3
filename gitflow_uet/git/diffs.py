"""Diffs between two commits (or a commit and a tree), as git itself sees them.

Patch validation judges paths and modes on git's own output, never on a diff's headers
alone: `diff_tree` and `numstat` read two trees, and `tree_from_patch` turns arbitrary
diff text into a tree by letting `git apply --cached` interpret it on a throwaway index.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from gitflow_uet.errors import UetError
from gitflow_uet.git import Repo, zsplit

# Porcelain `git diff` reads user config that would change the text we store and hash
# (colours, prefixes, external drivers, textconv, relative paths, quoted UTF-8 names).
_DIFF_FLAGS = (
    "--binary", "--full-index", "-M", "--no-color", "--no-ext-diff", "--no-textconv",
    "--no-relative", "--src-prefix=a/", "--dst-prefix=b/", "-U3",
)
_NO_QUOTE = ("-c", "core.quotePath=false")


class PatchDoesNotApply(UetError):
    """`git apply` refused a diff; the message is git's complaint (paths, never content).
    Expected for hand-made or hostile diffs, so not a GitError (which means a bug)."""

    exit_code = 1


@dataclass(frozen=True)
class RawChange:
    """One line of `git diff-tree --raw`: status letter (A, M, D, R, C, T), modes as ints,
    blob ids and the paths at both ends (equal unless renamed or copied)."""

    status: str
    old_mode: int
    new_mode: int
    old_path: str
    new_path: str
    old_sha: str = ""
    new_sha: str = ""

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.old_path,) if self.old_path == self.new_path else (self.old_path, self.new_path)


@dataclass(frozen=True)
class NumStat:
    """Lines added and removed in one file; None for both when git considers it binary."""

    added: int | None
    removed: int | None
    path: str  # after a rename, the new name

    @property
    def binary(self) -> bool:
        return self.added is None


def diff_text(repo: Repo, base: str, head: str) -> bytes:
    """The unified diff from `base` to `head`, binary-safe and with full blob ids."""
    return repo.run(*_NO_QUOTE, "diff", *_DIFF_FLAGS, base, head, "--")


def diff_tree(repo: Repo, base: str, head_or_tree: str) -> list[RawChange]:
    """Every changed path between two tree-ishes, with renames detected."""
    out = repo.run(*_NO_QUOTE, "diff-tree", "-r", "-z", "-M", "--raw", "--no-commit-id", base, head_or_tree)
    items = zsplit(out)
    changes: list[RawChange] = []
    i = 0
    while i < len(items):
        meta = items[i].lstrip(":").split(" ")
        old_mode, new_mode, old_sha, new_sha, status = meta[0], meta[1], meta[2], meta[3], meta[4]
        letter = status[:1]
        if letter in ("R", "C"):
            old_path, new_path = items[i + 1], items[i + 2]
            i += 3
        else:
            old_path = new_path = items[i + 1]
            i += 2
        changes.append(RawChange(letter, int(old_mode, 8), int(new_mode, 8), old_path, new_path, old_sha, new_sha))
    return changes


def numstat(repo: Repo, base: str, head_or_tree: str) -> list[NumStat]:
    out = repo.run(*_NO_QUOTE, "diff-tree", "-r", "-z", "-M", "--numstat", "--no-commit-id", base, head_or_tree)
    items = zsplit(out)
    stats: list[NumStat] = []
    i = 0
    while i < len(items):
        added, removed, path = items[i].split("\t", 2)
        if path == "":
            # A rename: `added\tremoved\t` then the old and the new name as separate items.
            path = items[i + 2]
            i += 3
        else:
            i += 1
        binary = added == "-"
        stats.append(NumStat(None if binary else int(added), None if binary else int(removed), path))
    return stats


def tree_from_patch(repo: Repo, base: str, diff: bytes) -> str:
    """The tree `diff` produces on top of `base`, as git applies it.

    Runs on a temporary index inside the git dir, so neither the user's index nor any
    work tree is touched; the index file is removed whatever happens. Raises
    PatchDoesNotApply with git's message when git refuses the diff.
    """
    repo.uet_dir.mkdir(parents=True, exist_ok=True)
    index = repo.uet_dir / f"tmp-index-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        repo.run("read-tree", base, env=env)
        done = repo.run_result("apply", "--cached", "--whitespace=nowarn", "-", input=diff, env=env)
        if done.code != 0:
            raise PatchDoesNotApply(f"git apply: {done.message}")
        return repo.run("write-tree", env=env).decode().strip()
    finally:
        for leftover in (index, index.with_name(index.name + ".lock")):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass


def merge_base(repo: Repo, a: str, b: str) -> str | None:
    """The best common ancestor of two commits, or None when they share no history."""
    done = repo.run_result("merge-base", a, b)
    return done.text.strip() or None if done.code == 0 else None


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    return repo.run_result("merge-base", "--is-ancestor", ancestor, descendant).code == 0


def blob_sizes(repo: Repo, shas: list[str]) -> dict[str, int]:
    """Each blob's size as stored (inflated), from one `cat-file --batch-check`, without
    reading the content."""
    if not shas:
        return {}
    out = repo.run("cat-file", "--batch-check=%(objectname) %(objectsize)", input="".join(s + "\n" for s in shas).encode())
    sizes = {}
    for line in out.decode().splitlines():
        name, _, size = line.partition(" ")
        if size.isdigit():
            sizes[name] = int(size)
    return sizes
