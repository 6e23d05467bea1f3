"""Merging and reverting without a work tree: `git merge-tree --write-tree` (git >= 2.38)
computes the merged tree from objects alone, so neither the user's checkout nor any index
is touched until the result has been gated and the target moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitflow_uet.errors import GitError
from gitflow_uet.git import Repo, zsplit


@dataclass(frozen=True)
class MergeResult:
    """A merged tree, or the paths that conflict (then `tree` holds conflict markers and
    must not be committed)."""

    tree: str
    conflicts: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # git's CONFLICT lines, one per conflict

    @property
    def clean(self) -> bool:
        return not self.conflicts


def merge_trees(repo: Repo, ours: str, theirs: str) -> MergeResult:
    """Merge commit `theirs` into commit `ours` (merge base found by git)."""
    done = repo.run_result("merge-tree", "--write-tree", "--messages", "-z", "--name-only", ours, theirs)
    if done.code not in (0, 1) or not done.out:
        raise GitError(f"git merge-tree failed: {done.message}")
    # Layout with -z: `<tree>\0<path>\0...<path>\0` then, on conflict, `\0` and message
    # groups `<count>\0<path>\0 x count <type>\0<message>\0`.
    parts = done.out.decode("utf-8", "surrogateescape").split("\0")
    tree, rest = parts[0], parts[1:]
    if done.code == 0:
        return MergeResult(tree)
    conflicts: list[str] = []
    i = 0
    while i < len(rest) and rest[i] != "":
        if rest[i] not in conflicts:
            conflicts.append(rest[i])
        i += 1
    messages = _conflict_messages(rest[i + 1:])
    return MergeResult(tree, conflicts or ["(unknown path)"], messages)


def _conflict_messages(parts: list[str]) -> list[str]:
    found: list[str] = []
    i = 0
    while i < len(parts) and parts[i].isdigit():
        count = int(parts[i])
        kind, text = parts[i + count + 1], parts[i + count + 2]
        if kind.startswith("CONFLICT"):
            found.append(text.strip())
        i += count + 3
    return found


def commit_tree(repo: Repo, commit: str) -> str:
    return _header(repo, commit)["tree"][0]


def commit_parents(repo: Repo, commit: str) -> list[str]:
    return _header(repo, commit).get("parent", [])


def commit_message(repo: Repo, commit: str) -> str:
    kind, data = repo.read_object(commit)
    if kind != "commit":
        raise GitError(f"{commit} is a {kind}, not a commit")
    return data.split(b"\n\n", 1)[1].decode("utf-8", "replace") if b"\n\n" in data else ""


def _header(repo: Repo, commit: str) -> dict[str, list[str]]:
    kind, data = repo.read_object(commit)
    if kind != "commit":
        raise GitError(f"{commit} is a {kind}, not a commit")
    header: dict[str, list[str]] = {}
    for line in data.split(b"\n\n", 1)[0].decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        if key in ("tree", "parent"):
            header.setdefault(key, []).append(value)
    return header


def revert_tree(repo: Repo, commit: str, onto: str) -> MergeResult:
    """The tree of `onto` with `commit`'s change undone: a three-way merge with base
    `commit`, ours `onto`, theirs `commit`'s parent (what `git revert` does).

    git 2.39's merge-tree has no `--merge-base` (2.40 added it), so the base is forced
    instead: a scratch commit holding the parent's tree with `commit` as its only parent
    makes `commit` the merge base of it and `onto` (which contains `commit`). The scratch
    commit stays unreferenced; gc takes it.
    """
    parents = commit_parents(repo, commit)
    if len(parents) != 1:
        raise GitError(f"cannot revert {commit}: it has {len(parents)} parents")
    scratch = repo.write_commit(commit_tree(repo, parents[0]), [commit], f"uet: revert of {commit}\n",
                                identity=repo.identity, when=0)
    return merge_trees(repo, onto, scratch)


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    done = repo.run_result("merge-base", "--is-ancestor", ancestor, descendant)
    if done.code not in (0, 1):
        raise GitError(f"git merge-base failed: {done.message}")
    return done.code == 0


def changed_paths_between(repo: Repo, old: str, new: str) -> list[str]:
    """Paths whose content differs between two commits (renames as delete + add)."""
    out = repo.run("diff-tree", "-r", "-z", "--no-renames", "--name-only", old, new)
    return zsplit(out)
