"""Merging and reverting without a work tree: `git merge-tree --write-tree` (git >= 2.38)
computes the merged tree from objects alone, so neither the user's checkout nor any index
is touched until the result has been gated and the target moves.

Merge drivers. A path's `merge` attribute may name a driver other than git's text merge:
`union` and `binary` (built in), or any name, whose `merge.<name>.driver` command git would
run. A driver decides a conflict without anyone seeing it, and a custom one is a command the
repository configured, so before merging we read the `merge` attribute of every path both
sides changed, from the trees being merged (each read into a scratch index: git 2.39 has no
`check-attr --source`) plus `info/attributes` and the global attributes file. Any driver but
text makes that path a conflict, with the attribute named, unless the policy is `honor`:
then `union`, `binary` and `ours` are honored (built-in behaviour only: `ours` keeps our
side) and a custom driver is still a conflict. merge-tree itself runs against an empty work
tree, with a generated attributes file that holds exactly the drivers we decided to honor,
so the user's checkout (uncommitted `.gitattributes`) cannot change what it does.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gitflow_uet.errors import GitError
from gitflow_uet.git import Repo, zsplit


def _pattern(path: str) -> str:
    """An attributes pattern matching exactly `path` (quoted as git reads it: C-style)."""
    escaped = "/" + "".join("\\" + ch if ch in "*?[]\\!" else ch for ch in path)
    if not any(ch in escaped for ch in ' "\t\n\r') and escaped.isprintable():
        return escaped
    quoted = escaped.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
    return '"' + quoted.replace("\r", "\\r") + '"'


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


# The drivers git implements itself (no command runs), and `ours`, which we implement as
# git's documented `merge.ours.driver=true` would (keep our side).
HONORED_DRIVERS = ("union", "binary", "ours")
DRIVER_POLICIES = ("refuse", "honor")


def merge_trees(repo: Repo, ours: str, theirs: str, *, drivers: str = "refuse") -> MergeResult:
    """Merge commit `theirs` into commit `ours` (merge base found by git) with git's text
    merge only; `drivers="honor"` also honors the built-in union/binary/ours drivers.

    The merged tree's objects stay unreferenced until a ref holds the candidate: the gc
    hold is taken first (git/gchold.py)."""
    repo.hold_gc()
    scratch = Path(tempfile.mkdtemp(prefix="merge-", dir=_scratch_dir(repo)))
    try:
        decided = driver_decisions(repo, ours, theirs, honor=drivers == "honor", scratch=scratch)
        refused = {path: why for path, (driver, why) in decided.items() if why}
        if refused:
            return MergeResult(ours, sorted(refused), [f"{path}: {why}" for path, why in sorted(refused.items())])
        honored = {path: driver for path, (driver, _) in decided.items() if driver != "text"}
        return _merge_tree(repo, ours, theirs, honored, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch_dir(repo: Repo) -> Path:
    folder = repo.uet_dir / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def driver_decisions(repo: Repo, ours: str, theirs: str, *, honor: bool,
                     scratch: Path) -> dict[str, tuple[str, str]]:
    """For every path both sides changed whose `merge` attribute names a driver other
    than text: path -> (driver, reason it is a conflict or "" when honored)."""
    both = _changed_on_both_sides(repo, ours, theirs)
    if not both:
        return {}
    # A driver the config defines runs its command, even under a built-in's name; but
    # `ours` is only ever run as our own `merge.ours.driver=true` (command-line config wins).
    custom = _configured_drivers(repo) - {"ours"}
    seen: dict[str, list[str]] = {}
    for commit in (ours, theirs):
        for path, driver in _merge_attributes(repo, commit, both, scratch).items():
            # "text" too when the config defines a driver by that name: merge.default=text
            # would find it before git's own.
            if (driver != "text" or driver in custom) and driver not in seen.setdefault(path, []):
                seen[path].append(driver)
    decided: dict[str, tuple[str, str]] = {}
    for path, found in seen.items():
        shown = " and ".join(_spelling(d) for d in found)
        if any(d in custom or d not in HONORED_DRIVERS for d in found):
            decided[path] = (found[0], f"its attributes name the merge driver {shown}, a custom driver "
                                       "(git uet never runs a merge driver's command): merge it by hand")
        elif not honor:
            decided[path] = (found[0], f"its attributes set {shown}, which would decide the conflict silently "
                                       "(set `merge_drivers: honor` in .uet/config.yaml to let git's built-in "
                                       "union/binary/ours drivers decide)")
        elif len(found) > 1:
            decided[path] = (found[0], f"its attributes name two merge drivers ({shown}) on the two sides")
        else:
            decided[path] = (found[0], "")
    return decided


def _spelling(driver: str) -> str:
    return "-merge (binary)" if driver == "binary" else f"merge={driver}"


def _changed_on_both_sides(repo: Repo, ours: str, theirs: str) -> list[str]:
    done = repo.run_result("merge-base", ours, theirs)
    base = done.text.strip() if done.code == 0 else None
    if not base:
        return []  # no common history: merge-tree refuses such a merge anyway
    a = set(changed_paths_between(repo, base, ours))
    return sorted(a & set(changed_paths_between(repo, base, theirs)))


def _configured_drivers(repo: Repo) -> set[str]:
    """Names that have a `merge.<name>.driver` command in any config: even `union` is a
    custom driver when the repository defines one under that name (git prefers it)."""
    done = repo.run_result("config", "-z", "--get-regexp", r"^merge\..*\.driver$")
    names = set()
    for item in zsplit(done.out) if done.code == 0 else []:
        key = item.split("\n", 1)[0]
        names.add(key[len("merge."):key.rfind(".")])
    return names


def _merge_attributes(repo: Repo, commit: str, paths: list[str], scratch: Path) -> dict[str, str]:
    """path -> the driver git would pick for it from `commit`'s trees ("text", "binary",
    or the name the attribute gives)."""
    index = scratch / f"index-{commit}"
    env = {"GIT_INDEX_FILE": str(index)}
    repo.run("read-tree", commit, env=env)
    out = repo.run("check-attr", "--cached", "-z", "--stdin", "merge",
                   input=b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths), env=env)
    items = zsplit(out)
    found: dict[str, str] = {}
    for path, _attr, value in zip(items[::3], items[1::3], items[2::3]):
        found[path] = {"unspecified": "text", "set": "text", "unset": "binary"}.get(value, value)
    return found


def _merge_tree(repo: Repo, ours: str, theirs: str, honored: dict[str, str], scratch: Path) -> MergeResult:
    """`git merge-tree --write-tree` against an empty work tree, with only the `honored`
    drivers in its attributes."""
    empty = scratch / "worktree"
    empty.mkdir()
    attributes = scratch / "attributes"
    attributes.write_text("".join(f"{_pattern(path)} merge={driver}\n" for path, driver in sorted(honored.items())),
                          encoding="utf-8", errors="surrogateescape")
    env = {"GIT_DIR": str(repo.git_dir), "GIT_WORK_TREE": str(empty),
           "GIT_INDEX_FILE": str(scratch / "no-index")}
    done = repo.run_result("-c", f"core.attributesFile={attributes}", "-c", "merge.ours.driver=true",
                           "merge-tree", "--write-tree", "--messages", "-z", "--name-only", ours, theirs,
                           env=env, cwd=empty)
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


def revert_tree(repo: Repo, commit: str, onto: str, *, drivers: str = "refuse") -> MergeResult:
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
    return merge_trees(repo, onto, scratch, drivers=drivers)


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    done = repo.run_result("merge-base", "--is-ancestor", ancestor, descendant)
    if done.code not in (0, 1):
        raise GitError(f"git merge-base failed: {done.message}")
    return done.code == 0


def changed_paths_between(repo: Repo, old: str, new: str) -> list[str]:
    """Paths whose content differs between two commits (renames as delete + add)."""
    out = repo.run("diff-tree", "-r", "-z", "--no-renames", "--name-only", old, new)
    return zsplit(out)
