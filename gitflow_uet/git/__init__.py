"""The only door to git.

Everything that touches a repository goes through `Repo`: plumbing commands as argv lists
(never a shell), objects read through one long-lived `git cat-file --batch` and written
in-process through gitdb's loose-object writer, and every ref move a compare-and-swap (`update-ref NEW OLD`, alone or as one
`--stdin` transaction). The rest of the code speaks in domain terms and never builds an
argv.

Trees are immutable, so a parsed tree is cached by its id. `edit_tree` writes a tree that
differs from a cached one in a few entries by splicing them between the raw bytes of the
others: the ledger's 256-entry fan-out trees cost a dict lookup and a byte copy, not 256
entry objects, on every append.

Our own git calls never run a command the repository configured: hooks, fsmonitor, filter
drivers, commit signing (`gpg.program`), merge drivers, pagers, external diffs and textconv
are all off (`_SAFE_CONFIG`, `Repo._filter_off`, `git/merge.py`, `git/diffs.py`). They
never inherit the `GIT_DIR`/`GIT_INDEX_FILE`/... variables git sets when it runs *us* from a
hook.

A `Repo` holds one long-lived `git cat-file --batch`: close it (`close()`, or use the Repo
as a context manager) when done; a Repo dropped without closing is closed when collected.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import weakref
from collections import OrderedDict
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Sequence

from gitflow_uet.errors import EnvironmentProblem, GitError, NotARepository, StaleLockError, UetError
from gitflow_uet.git import gchold
from gitflow_uet.git.catfile import CatFile, parse_batch, scratch_file
from gitflow_uet.git.trees import (
    MODE_BLOB, MODE_EXEC, MODE_GITLINK, MODE_LINK, MODE_TREE, ParsedTree, TreeEntry, encode_entry,
)

__all__ = [
    "Completed", "MODE_BLOB", "MODE_EXEC", "MODE_GITLINK", "MODE_LINK", "MODE_TREE", "RefLocked",
    "RefMoved", "RefUpdate", "Repo", "STALE_LOCK_SECONDS", "lock_age", "TreeEntry", "ZERO", "clean_env", "zsplit",
]

if TYPE_CHECKING:
    from gitdb.db.loose import LooseObjectDB

ZERO = "0" * 40


# A ref lock older than this was left by a killed process: a live update-ref holds one for
# milliseconds.
STALE_LOCK_SECONDS = 10.0

# Variables that locate a repository or index. git exports them to hooks; inheriting them
# would point our commands at the wrong repository or at a half-written index.
_SCRUBBED_PREFIX = "GIT_"
_KEPT = {
    "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE",
    "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
    "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS",
    "GIT_TERMINAL_PROMPT", "GIT_HTTP_USER_AGENT", "GIT_SSL_CAINFO", "GIT_SSL_NO_VERIFY",
    "GIT_TRACE", "GIT_TRACE2", "GIT_TRACE2_EVENT", "GIT_TRACE_PERFORMANCE",
}
# Every git call carries these: the repository's config and attributes may name programs
# (hooks, fsmonitor, signing, pagers, merge drivers); none of them may run on our behalf.
# Filter drivers are neutralised per repository (`Repo._filter_off`: their names are only
# known from the config); external diff and textconv are per-command options
# (`--no-ext-diff --no-textconv`, git/diffs.py); merge drivers are checked before any merge
# (git/merge.py) and `merge.default` is pinned to git's own text merge here.
_SAFE_CONFIG = (
    "--no-pager",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "core.pager=cat",
    "-c", "commit.gpgSign=false",
    "-c", "tag.gpgSign=false",
    "-c", "push.gpgSign=false",
    "-c", "log.showSignature=false",
    "-c", "merge.default=text",
    "-c", "gc.auto=0",
    "-c", "maintenance.auto=false",
    "-c", "advice.detachedHead=false",
)


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment without the variables that would redirect git."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIX) or k in _KEPT}
    env["LC_ALL"] = "C"  # we parse git's messages
    env["GIT_TERMINAL_PROMPT"] = "0"
    if extra:
        env.update(extra)
    return env


# Temporary object names: unique within a process; the pid and a random part keep them
# apart between processes (O_EXCL settles the rest).


def zsplit(data: bytes) -> list[str]:
    """Split NUL-terminated `-z` output."""
    text = data.decode("utf-8", "surrogateescape")
    return [part for part in text.split("\0") if part] if text else []


class RefUpdate(NamedTuple):
    """One compare-and-swap: move `ref` from `old` (None: must not exist) to `new`
    (None: delete)."""

    ref: str
    new: str | None
    old: str | None


class RefMoved(GitError):
    """A compare-and-swap lost its race: the ref is no longer at the expected value."""

    def __init__(self, ref: str, expected: str | None, actual: str | None):
        super().__init__(f"{ref} moved: expected {expected or 'absent'}, found {actual or 'absent'}")
        self.ref, self.expected, self.actual = ref, expected, actual


class RefLocked(GitError):
    """Another process holds the ref's lock right now; try again shortly."""

    def __init__(self, lock: Path):
        super().__init__(f"{lock} is held by another process")
        self.lock = lock


class Completed(NamedTuple):
    code: int
    out: bytes
    err: bytes

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "surrogateescape")

    @property
    def message(self) -> str:
        """stderr as one line, for error messages."""
        lines = [ln.strip() for ln in self.err.decode("utf-8", "replace").splitlines() if ln.strip()]
        return " / ".join(lines[-3:]) if lines else f"exit {self.code}"


class Repo:
    """A repository as seen from one of its worktrees.

    Its lifetime is the `git cat-file --batch` it starts on the first object read: `close()`
    (or `with Repo.discover(...) as repo:`) ends that process; a read after it starts a new one.
    """

    def __init__(self, root: Path, git_dir: Path, common_dir: Path, here: Path | None = None):
        self.root = root
        self.git_dir = git_dir
        self.common_dir = common_dir
        # The worktree a command was run in (the project's root when run there): `root`
        # is always the main worktree, whichever worktree or subfolder found it.
        self.here = here or root
        self._trees: OrderedDict[str, ParsedTree] = OrderedDict()
        self._commit_trees: dict[str, str] = {}
        self._filters: tuple[tuple[int, ...], tuple[str, ...]] | None = None
        self._cat = CatFile(["git", *_SAFE_CONFIG, "cat-file", "--batch"], root, clean_env())
        self._gc = gchold.Share(common_dir)
        # A Repo dropped without close() still ends its cat-file and its gc hold when it is
        # collected (or when the interpreter exits).
        weakref.finalize(self, _finish, self._cat, self._gc)
        _LIVE.add(self)

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the long-lived `git cat-file --batch` (if one runs) and give back the gc hold
        (if taken). Idempotent."""
        _finish(self._cat, self._gc)

    def hold_gc(self) -> None:
        """Keep `git gc` from starting (and wait for a running one) until `close()`: called
        before writing objects that no ref holds yet. See git/gchold.py."""
        self._gc.take()

    @property
    def is_open(self) -> bool:
        """Whether this Repo has a `git cat-file --batch` running or holds gc off right now."""
        return self._cat.running or self._gc.held

    @staticmethod
    def open_repos() -> list[Repo]:
        """Every Repo of this process still open (for leak checks in tests)."""
        return [repo for repo in list(_LIVE) if repo.is_open]

    # -- finding ----------------------------------------------------------------------------

    @classmethod
    def discover(cls, path: Path | str | None = None) -> Repo:
        """The repository `path` (default: the current directory) belongs to, found as git
        finds it: through the common git dir, so a linked worktree (a workstream's own,
        `.worktrees/a/pkg`) or any subfolder opens the project, never the worktree."""
        where = Path(path or Path.cwd()).resolve()
        try:
            proc = subprocess.run(
                ["git", *_SAFE_CONFIG, "rev-parse", "--path-format=absolute",
                 "--show-toplevel", "--git-dir", "--git-common-dir"],
                cwd=where, env=clean_env(), capture_output=True, stdin=subprocess.DEVNULL,
            )
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotARepository(f"not a git repository: {where} ({exc.strerror})") from exc
        lines = proc.stdout.decode().splitlines()
        if proc.returncode != 0 or len(lines) != 3:
            raise NotARepository(_not_a_repository(where, proc.stderr))
        here, git_dir, common = (Path(x) for x in lines)
        root = here if git_dir == common else _main_worktree(common, here)
        return cls(root, common, common, here)

    @property
    def uet_dir(self) -> Path:
        """Where the tool keeps rebuildable caches, reports and heartbeats: never state."""
        return self.common_dir / "uet"

    # -- running ----------------------------------------------------------------------------

    def run_result(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
    ) -> Completed:
        proc = subprocess.run(
            ["git", *_SAFE_CONFIG, *self._filter_off, *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            cwd=cwd or self.root,
            env=clean_env(env),
            timeout=timeout,
        )
        return Completed(proc.returncode, proc.stdout, proc.stderr)

    def run(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> bytes:
        """Run a git command that is expected to succeed; its stdout."""
        done = self.run_result(*args, input=input, env=env, cwd=cwd)
        if done.code != 0:
            raise failure(_subcommand(args), done)
        return done.out

    def filter_off_args(self) -> list[str]:
        """The `-c` pairs that neutralise the repository's filter drivers. Every call through
        `run`/`run_result` already carries them; kept for callers that spell them out."""
        return list(self._filter_off)

    @property
    def _filter_off(self) -> tuple[str, ...]:
        """`-c` pairs that make every configured filter driver a no-op: an empty `process`
        makes git skip `clean`/`smudge` too, and an empty command runs nothing, so content
        goes in and out of the object store byte for byte and no clean/smudge code runs.

        Re-read when a config file changes (a task may add a driver mid-run)."""
        key = _config_stamp(self.common_dir / "config", self.git_dir / "config.worktree")
        cached = self._filters
        if cached is not None and cached[0] == key:
            return cached[1]
        proc = subprocess.run(
            ["git", *_SAFE_CONFIG, "config", "-z", "--get-regexp", r"^filter\..*\.(clean|smudge|process|required)$"],
            cwd=self.root, env=clean_env(), capture_output=True, stdin=subprocess.DEVNULL)
        names = set()
        for item in zsplit(proc.stdout):
            key_name = item.split("\n", 1)[0]
            names.add(key_name[len("filter."):key_name.rfind(".")])
        args: list[str] = []
        for name in sorted(names):
            args += ["-c", f"filter.{name}.clean=", "-c", f"filter.{name}.smudge=",
                     "-c", f"filter.{name}.process=", "-c", f"filter.{name}.required=false"]
        self._filters = (key, tuple(args))
        return self._filters[1]

    # -- objects ----------------------------------------------------------------------------

    def rev_parse(self, rev: str) -> str | None:
        done = self.run_result("rev-parse", "-q", "--verify", "--end-of-options", rev)
        return done.text.strip() or None if done.code == 0 else None

    def read_ref(self, ref: str) -> str | None:
        """The object a full ref name points at, or None; no spawn."""
        found = self._cat.read(ref)
        return found[0] if found else None

    def read_named(self, name: str) -> tuple[str, str, bytes] | None:
        """(sha, type, content) for any name git resolves, or None."""
        return self._cat.read(name)

    def read_object(self, sha: str) -> tuple[str, bytes]:
        """(type, content) through the long-lived `cat-file --batch`."""
        found = self._cat.read(sha)
        if found is None:
            raise EnvironmentProblem(
                f"object {sha} is missing from the repository (was it pruned by a `git prune` or "
                "`git gc --force`?); `git uet fsck` lists everything missing and the refs that need it")
        return found[1], found[2]

    def read_blob(self, sha: str) -> bytes:
        kind, data = self.read_object(sha)
        if kind != "blob":
            raise GitError(f"{sha} is a {kind}, not a blob")
        return data

    def read_tree(self, sha: str) -> list[TreeEntry]:
        """A tree's entries; trees are immutable, so parsed ones are kept in a small cache."""
        return list(self._tree(sha).entries())

    def tree_entry(self, tree: str, name: str) -> TreeEntry | None:
        """The entry `name` of a tree, or None: a dict lookup once the tree is cached."""
        return self._tree(tree).get(name)

    def tree_of(self, commit: str) -> str | None:
        """The tree of a commit, or None when `commit` names something else."""
        hit = self._commit_trees.get(commit)
        if hit is not None:
            return hit
        kind, data = self.read_object(commit)
        if kind != "commit" or not data.startswith(b"tree "):
            return None
        tree = data[5:45].decode()
        self._remember_commit(commit, tree)
        return tree

    def _tree(self, sha: str) -> ParsedTree:
        hit = self._trees.get(sha)
        if hit is not None:
            try:
                self._trees.move_to_end(sha)
            except KeyError:  # evicted by another thread in between: still a valid tree
                pass
            return hit
        kind, data = self.read_object(sha)
        if kind != "tree":
            raise GitError(f"{sha} is a {kind}, not a tree")
        return self._remember_tree(sha, ParsedTree(data))

    def _remember_tree(self, sha: str, tree: ParsedTree) -> ParsedTree:
        self._trees[sha] = tree
        while len(self._trees) > 4096:
            try:
                self._trees.popitem(last=False)
            except KeyError:
                break
        return tree

    def _remember_commit(self, commit: str, tree: str) -> None:
        if len(self._commit_trees) > 4096:
            self._commit_trees.clear()
        self._commit_trees[commit] = tree

    @cached_property
    def _loose(self) -> LooseObjectDB:
        # gitdb's loose-object writer (the object database GitPython itself builds on):
        # an object is written in-process to a temporary file and renamed into place, so a
        # kill leaves at most an unreferenced object. `git hash-object -w` would cost a
        # spawn per object, and the ledger writes four or five per append.
        from gitdb.db.loose import LooseObjectDB

        return LooseObjectDB(str(self.common_dir / "objects"))

    def _store(self, kind: str, data: bytes) -> str:
        """Write an object (loose, in-process) and return its id. Under the gc hold, so no
        `git gc` prunes it before a ref holds it; an object that was already there is
        freshened as git freshens it (its mtime bumped), because gitdb would skip it and an
        old unreachable copy is exactly what a grace-period prune takes."""
        from io import BytesIO

        from gitdb import IStream

        self.hold_gc()
        sha = self._loose.store(IStream(kind, len(data), BytesIO(data))).binsha.hex()
        try:
            os.utime(self.common_dir / "objects" / sha[:2] / sha[2:])
        except FileNotFoundError:  # packed only? then gitdb wrote no loose copy: write one
            self._loose.store(IStream(kind, len(data), BytesIO(data)))
        except OSError:
            pass
        return sha

    def write_blob(self, data: bytes) -> str:
        return self._store("blob", data)

    def write_tree(self, entries: Iterable[TreeEntry]) -> str:
        encoded = sorted(map(encode_entry, entries), key=lambda e: e[1])
        data = b"".join(raw for _, _, raw, _ in encoded)
        sha = self._store("tree", data)
        self._remember_tree(sha, ParsedTree(data))
        return sha

    def edit_tree(self, tree: str | None, put: Iterable[TreeEntry] = (), remove: Iterable[str] = ()) -> str:
        """Write `tree` (None: the empty tree) with the entries `put` added or replaced and
        the names in `remove` taken out; its id. Costs what the edits cost, not the tree."""
        base = self._tree(tree) if tree else ParsedTree(b"")
        edited = base.splice(put, remove)
        sha = self._store("tree", edited.data)
        self._remember_tree(sha, edited)
        return sha

    def write_commit(self, tree: str, parents: Sequence[str], message: str,
                     *, identity: tuple[str, str] | None = None, when: int | None = None) -> str:
        """A commit object; identity defaults to the committer git would use."""
        name, email = identity or self.identity
        stamp = int(time.time()) if when is None else when
        offset = _local_offset(stamp)
        lines = [f"tree {tree}"] + [f"parent {p}" for p in parents]
        lines.append(f"author {name} <{email}> {stamp} {offset}")
        lines.append(f"committer {name} <{email}> {stamp} {offset}")
        body = "\n".join(lines) + "\n\n" + message.rstrip("\n") + "\n"
        commit = self._store("commit", body.encode("utf-8"))
        self._remember_commit(commit, tree)
        return commit

    @cached_property
    def identity(self) -> tuple[str, str]:
        """Who the tool's own commits are by: the identity git itself would use."""
        name, email = os.environ.get("GIT_COMMITTER_NAME"), os.environ.get("GIT_COMMITTER_EMAIL")
        if name and email:  # git takes these over any config, so no need to ask it
            return name, email
        done = self.run_result("var", "GIT_COMMITTER_IDENT")
        ident = done.text.strip()
        if done.code != 0 or "<" not in ident:
            return "git uet", "git-uet@localhost"
        name, _, rest = ident.partition(" <")
        return name, rest.split(">", 1)[0]

    def ls_tree(self, treeish: str, *, recursive: bool = True) -> list[tuple[str, str, str, str]]:
        """(mode, type, sha, path) for every entry below `treeish` (e.g. `refs/uet:workstreams`)."""
        args = ["ls-tree", "-z", "--full-tree"] + (["-r"] if recursive else []) + [treeish]
        done = self.run_result(*args)
        if done.code != 0:
            return []
        rows = []
        for item in zsplit(done.out):
            meta, path = item.split("\t", 1)
            mode, kind, sha = meta.split(" ")
            rows.append((mode, kind, sha, path))
        return rows

    def read_blobs(self, shas: Sequence[str]) -> list[bytes]:
        """Many blobs in one `cat-file --batch` round: the cost of reading state in bulk."""
        if not shas:
            return []
        return parse_batch(self.run("cat-file", "--batch", input=("\n".join(shas) + "\n").encode()), len(shas))

    def read_tree_blobs(self, treeish: str) -> list[bytes]:
        """Every blob below `treeish`, as `git ls-tree -r --object-only | git cat-file
        --batch` reads them: the two processes are piped to each other directly."""
        return parse_batch(self._cat_tree(treeish, "--batch"), None)

    def read_tree_json(self, treeish: str) -> list[Any]:
        """Every blob below `treeish` parsed as JSON, in tree order, with one parse for all:
        cat-file is told to print a `,` line before each object, so its output is a JSON
        array but for the brackets (the newlines are JSON whitespace)."""
        out = self._cat_tree(treeish, "--batch=,")
        if not out:
            return []
        if out[:1] != b",":
            first = out.split(b"\n", 1)[0].decode(errors="replace")
            raise GitError(f"cat-file: {first}")
        try:
            values: list[Any] = json.loads(b"[%s]" % out[1:])
        except ValueError as err:  # a missing object prints `<sha> missing` in place of one
            raise GitError(f"cannot read the blobs below {treeish} as JSON: {err}") from None
        return values

    def _cat_tree(self, treeish: str, batch: str) -> bytes:
        """The output of `git ls-tree -r --object-only <treeish> | git cat-file <batch>`
        (empty when there is no such tree).

        The reader writes into an anonymous file rather than a pipe to us: on a busy
        machine, draining thousands of small writes through a pipe costs as much again
        as the read itself."""
        env = clean_env()
        with scratch_file() as out:
            lister = subprocess.Popen(
                ["git", *_SAFE_CONFIG, *self._filter_off, "ls-tree", "-r", "--object-only", treeish], cwd=self.root,
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                reader = subprocess.Popen(
                    ["git", *_SAFE_CONFIG, "cat-file", batch, "--buffer"], cwd=self.root, env=env,
                    stdin=lister.stdout, stdout=out, stderr=subprocess.DEVNULL)
                assert lister.stdout is not None
                lister.stdout.close()  # the reader holds it now
                reader.wait()
            finally:
                lister.wait()
            if lister.returncode != 0:
                return b""
            if reader.returncode != 0:
                raise GitError(f"git cat-file failed reading {treeish} (exit {reader.returncode})")
            out.seek(0)
            return out.read()

    # -- refs -------------------------------------------------------------------------------

    def update_refs(self, updates: Sequence[RefUpdate], reason: str) -> None:
        """Move every ref from its old value to its new one, all or none (one transaction).

        Raises RefMoved when any ref is not at its expected value, RefLocked when another
        process holds a lock right now, StaleLockError when a lock was left by a dead one.
        """
        self.hold_gc()
        lines = []
        for u in updates:
            new, old = u.new or ZERO, u.old or ZERO
            lines.append(f"update {u.ref}\0{new}\0{old}\0")
        done = self.run_result(
            "-c", "core.filesRefLockTimeout=200",
            "update-ref", "--create-reflog", "-z", "--stdin", "-m", reason,
            input="".join(lines).encode(),
        )
        if done.code == 0:
            return
        for u in updates:
            lock = self.common_dir / (u.ref + ".lock")
            age = lock_age(lock)
            if age is not None:
                if age > STALE_LOCK_SECONDS:
                    raise StaleLockError(
                        f"stale lock {lock} (age {age:.0f}s) left by a killed process; "
                        "remove it if no git uet or git command is running")
                raise RefLocked(lock)
        for u in updates:
            actual = self.read_ref(u.ref)
            if actual != u.old:
                raise RefMoved(u.ref, u.old, actual)
        raise failure("update-ref", done)

    def update_ref(self, ref: str, new: str | None, old: str | None, reason: str) -> None:
        self.update_refs([RefUpdate(ref, new, old)], reason)


def _not_a_repository(where: Path, stderr: bytes) -> str:
    """Why `where` is not a repository we can open; git's own words when git refused it
    (a repository owned by another user: the `safe.directory` check, with its remedy)."""
    text = stderr.decode("utf-8", "replace")
    if "dubious ownership" in text:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        first = next(ln for ln in lines if "dubious ownership" in ln).removeprefix("fatal: ")
        remedy = next((ln for ln in lines if ln.startswith("git config")), None)
        return f"{first} (git's safe.directory check)" + (f"; if you trust it: {remedy}" if remedy else "")
    return f"not a git repository (or a bare one): {where}"


def _main_worktree(common: Path, here: Path) -> Path:
    """The main worktree of the repository whose common git dir is `common`."""
    if common.name == ".git":
        return common.parent
    proc = subprocess.run(["git", *_SAFE_CONFIG, "worktree", "list", "--porcelain", "-z"], cwd=here,
                          env=clean_env(), capture_output=True, stdin=subprocess.DEVNULL)
    first = zsplit(proc.stdout)[:3] if proc.returncode == 0 else []
    if not first or "bare" in first:
        raise NotARepository(f"{here} is a worktree of a bare repository ({common}); run git uet in a "
                             "repository with a work tree")
    return Path(first[0].removeprefix("worktree "))


# `<octal mode> <name>\0<20-byte id>`, back to back.
def lock_age(path: Path) -> float | None:
    """Seconds since a lock file was made, or None when there is none. Past
    STALE_LOCK_SECONDS it was left by a killed process: git locks name no owner."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


_LIVE: weakref.WeakSet[Repo] = weakref.WeakSet()


def _finish(cat: CatFile, share: gchold.Share) -> None:
    cat.close()
    share.give_back()


def _subcommand(args: Sequence[str]) -> str:
    """The git command in an argv that may start with `-c key=value` pairs and options."""
    i = 0
    while i < len(args):
        if args[i] == "-c":
            i += 2
        elif args[i].startswith("-"):
            i += 1
        else:
            return args[i]
    return args[0] if args else "?"


def _config_stamp(*paths: Path) -> tuple[int, ...]:
    stamp: list[int] = []
    for path in paths:
        try:
            st = path.stat()
            stamp += [st.st_mtime_ns, st.st_size, st.st_ino]
        except OSError:
            stamp += [0, 0, 0]
    return tuple(stamp)


def _local_offset(stamp: int) -> str:
    offset = time.localtime(stamp).tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    return f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"


# git's messages for states of the repository or machine that the user can fix (LC_ALL=C).
_BLOCKING_REF = re.compile(r"'(refs/[^']+)' exists; cannot create '(refs/[^']+)'")
_INVALID_PATH = re.compile(r"invalid path '([^']*)'")
_NO_SPACE = "No space left on device"
_DENIED = re.compile(r"(?:unable to|could not|cannot) [^:]*'([^']+)'[^\n]*Permission denied|"
                     r"'([^']+)'[^\n]*: Permission denied")


def failure(command: str, done: Completed) -> UetError:
    """The error for a failed git command: an EnvironmentProblem (exit 2, cause and fix)
    when git's message names a state the user can fix, else a GitError (exit 3, reported)."""
    text = done.err.decode("utf-8", "replace")
    found = _BLOCKING_REF.search(text)
    if found:
        blocker, wanted = found.group(1), found.group(2)
        return EnvironmentProblem(
            f"the ref {blocker} blocks {wanted} (git cannot have both a ref and a folder of refs by "
            f"that name); {blocker} is not git uet's: move it away (`git update-ref -d {blocker}` "
            "after saving it under another name) and run again")
    found = _INVALID_PATH.search(text)
    if found:
        return EnvironmentProblem(
            f"git refuses to check out the path {found.group(1)!r} on this machine (git {command}); "
            "rename or remove that path on the branch that holds it (e.g. `git rm --cached` it and "
            "commit), then run again")
    if _NO_SPACE in text:
        return EnvironmentProblem(f"git {command} failed: no space left on device; free some space and run again")
    found = _DENIED.search(text)
    if found:
        where = found.group(1) or found.group(2)
        return EnvironmentProblem(f"git {command} failed: permission denied on {where}; "
                                  "fix its owner or mode and run again")
    return GitError(f"git {command} failed: {done.message}")
