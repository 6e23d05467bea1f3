"""Replaying commits onto another base without a work tree (what `git rebase` does,
from objects alone): each commit's change is merged onto the new tip with its own parent
as the merge base, by `merge_trees` (git's built-in merge, the tool's safe config), and
written as a new commit keeping its author and message. Nothing is checked out and no ref
moves: a conflict leaves the repository exactly as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gitflow_uet.errors import GitError
from gitflow_uet.git import Repo
from gitflow_uet.git.merge import MergeResult, commit_parents, commit_tree, merge_trees


@dataclass(frozen=True)
class Replayed:
    tip: str | None  # the new tip, or None on conflict
    commits: int = 0
    conflicts: list[str] = field(default_factory=list)  # paths, when `tip` is None
    at: str | None = None  # the commit whose replay conflicted


def commits_between(repo: Repo, base: str, head: str) -> list[str]:
    """The commits `head` has that `base` does not, oldest first."""
    return repo.run("rev-list", "--reverse", "--topo-order", f"{base}..{head}").decode().split()


def replay(repo: Repo, base: str, head: str, onto: str) -> Replayed:
    """Replay `base..head` onto `onto`. A range holding a merge commit is replayed as one
    commit (the whole change of the range), as its history cannot be kept linear."""
    repo.hold_gc()  # the replayed commits are unreferenced until the branch moves
    commits = commits_between(repo, base, head)
    if any(len(commit_parents(repo, c)) != 1 for c in commits):
        result = _pick(repo, base, commit_tree(repo, head), onto)
        if result.conflicts:
            return Replayed(None, 0, result.conflicts, head)
        return Replayed(_write(repo, head, result.tree, onto, squashed=True), 1)
    tip = onto
    for commit in commits:
        result = _pick(repo, commit_parents(repo, commit)[0], commit_tree(repo, commit), tip)
        if result.conflicts:
            return Replayed(None, 0, result.conflicts, commit)
        tip = _write(repo, commit, result.tree, tip)
    return Replayed(tip, len(commits))


def _pick(repo: Repo, parent: str, tree: str, onto: str) -> MergeResult:
    # git 2.39's merge-tree has no --merge-base: scratch commits on `parent` (one holding
    # `onto`'s tree, one holding the picked tree) make `parent` their merge base.
    ident = repo.identity
    ours = repo.write_commit(commit_tree(repo, onto), [parent], "uet: replay scratch (ours)\n", identity=ident, when=0)
    theirs = repo.write_commit(tree, [parent], "uet: replay scratch (theirs)\n", identity=ident, when=0)
    return merge_trees(repo, ours, theirs)


def _write(repo: Repo, original: str, tree: str, parent: str, *, squashed: bool = False) -> str:
    """`original` re-made with `tree` on `parent`: its author and message kept."""
    kind, data = repo.read_object(original)
    if kind != "commit":
        raise GitError(f"{original} is a {kind}, not a commit")
    header, _, message = data.partition(b"\n\n")
    author = next((ln for ln in header.split(b"\n") if ln.startswith(b"author ")), None)
    name, email = repo.identity
    now = time.localtime()
    committer = f"committer {name} <{email}> {int(time.mktime(now))} {time.strftime('%z', now)}".encode()
    lines = [b"tree " + tree.encode(), b"parent " + parent.encode(), author or committer.replace(b"committer", b"author", 1),
             committer]
    if squashed:
        message = message.rstrip(b"\n") + b"\n\n(replayed as one commit: the range held a merge)\n"
    body = b"\n".join(lines) + b"\n\n" + message
    return repo.run("hash-object", "-w", "-t", "commit", "--stdin", input=body).decode().strip()
