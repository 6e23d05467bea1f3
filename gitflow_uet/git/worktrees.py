"""Worktrees: where workstreams and the integrator's gates run.

Checkouts run with every filter driver neutralised (`Repo.filter_off_args`), so a
repository's clean/smudge programs never run on our behalf.

Worktree administration (add, remove, prune, and the listing that reads
`.git/worktrees/*`) is serialised between processes and threads by `admin_lock`: git's
own `worktree add` and `prune` are not safe against each other (`failed to read
.git/worktrees/x/commondir`).

A worktree on a branch holds someone's work: `remove_worktree` never deletes uncommitted
changes, it first saves them (`save_changes`) as a commit under `refs/uet-saved/`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gitflow_uet.errors import GitError
from gitflow_uet.git import MODE_BLOB, MODE_EXEC, MODE_GITLINK, MODE_LINK, ZERO, RefMoved, RefUpdate, Repo, zsplit

SAVED_PREFIX = "refs/uet-saved/"


@dataclass(frozen=True)
class Worktree:
    path: Path
    head: str | None
    branch: str | None  # full ref name, or None when detached
    prunable: bool = False


@contextmanager
def admin_lock(repo: Repo, *, shared: bool = False) -> Iterator[None]:
    """Hold the tool's lock on worktree administration (`<common>/uet/worktrees.lock`):
    exclusive to change it, shared to read it. A killed holder's lock dies with it."""
    folder = repo.uet_dir
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "worktrees.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def list_worktrees(repo: Repo) -> list[Worktree]:
    with admin_lock(repo, shared=True):
        return _parse_list(repo.run("worktree", "list", "--porcelain", "-z"))


def _parse_list(out: bytes) -> list[Worktree]:
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
    with admin_lock(repo):
        if sparse_dirs is None:
            repo.run(*filters, "worktree", "add", "--quiet", *branch_args)
            return
        repo.run(*filters, "worktree", "add", "--quiet", "--no-checkout", *branch_args)
        # Under the lock too: it writes the shared config (extensions.worktreeConfig).
        repo.run("sparse-checkout", "set", "--cone", "--sparse-index", "--", *sparse_dirs, cwd=path)
    repo.run(*filters, "checkout", "--quiet", cwd=path)


def add_detached_worktree(repo: Repo, path: Path, commit: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with admin_lock(repo):
        repo.run(*repo.filter_off_args(), "worktree", "add", "--quiet", "--detach", str(path), commit)


def reset_detached(repo: Repo, path: Path, commit: str) -> None:
    """Make a detached worktree hold exactly `commit`'s tree, with nothing else in it."""
    filters = repo.filter_off_args()
    repo.run(*filters, "checkout", "--quiet", "--force", "--detach", commit, cwd=path)
    repo.run("clean", "-q", "-ffdx", cwd=path)


def remove_worktree(repo: Repo, path: Path, *, saved_as: str | None = None) -> str | None:
    """Remove a worktree and its administrative files; a folder already gone is pruned.

    Uncommitted work in a worktree on a branch is saved first (`save_changes`, under
    `refs/uet-saved/<saved_as or folder name>/`): the ref holding it is returned. A
    detached worktree is the integrator's scratch space and is removed as it is."""
    saved = None
    if path.exists() and (here := _on_branch(repo, path)) is not None:
        saved = save_changes(repo, path, saved_as or path.name, here or None)
    with admin_lock(repo):
        if path.exists():
            done = repo.run_result("worktree", "remove", "--force", "--force", str(path))
            if done.code != 0:
                if not any(w.path == path for w in _list_unlocked(repo)):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    raise GitError(f"could not remove worktree {path}: {done.message}")
        repo.run("worktree", "prune")
    return saved


def _list_unlocked(repo: Repo) -> list[Worktree]:
    return _parse_list(repo.run("worktree", "list", "--porcelain", "-z"))


def _on_branch(repo: Repo, path: Path) -> str | None:
    """The commit a worktree's branch is at ("" while the branch is unborn), or None when
    it is detached or not a worktree of this repository (nothing of anyone's to save)."""
    done = repo.run_result("symbolic-ref", "-q", "HEAD", cwd=path)
    if done.code != 0:
        return None
    top = repo.run_result("rev-parse", "--path-format=absolute", "--git-common-dir", "--show-toplevel", cwd=path)
    lines = top.text.splitlines()
    if top.code != 0 or len(lines) != 2 or Path(lines[0]) != repo.common_dir or Path(lines[1]) != path.resolve():
        return None
    head = repo.run_result("rev-parse", "-q", "--verify", "HEAD", cwd=path)
    return head.text.strip() if head.code == 0 else ""


def save_changes(repo: Repo, path: Path, name: str, head: str | None = None) -> str | None:
    """Save everything uncommitted in a worktree (staged, unstaged, untracked; ignored
    files are not work) as one commit on top of its HEAD, under
    `refs/uet-saved/<name>/<n>`; that ref, or None when there was nothing to save.

    The worktree and its index are left exactly as they were: the snapshot is staged in a
    copy of the index (GIT_INDEX_FILE), with filters off."""
    if not changed_paths(repo, path):
        return None
    repo.hold_gc()  # `add` writes blobs no ref holds until the saved ref moves
    if head is None:
        done = repo.run_result("rev-parse", "-q", "--verify", "HEAD", cwd=path)
        head = done.text.strip() if done.code == 0 else None  # None: an unborn branch
    git_dir = Path(repo.run("rev-parse", "--path-format=absolute", "--git-dir", cwd=path).decode().strip())
    with tempfile.TemporaryDirectory(prefix="uet-save-") as scratch:
        index = Path(scratch) / "index"
        env = {"GIT_INDEX_FILE": str(index)}
        if (git_dir / "index").exists():
            shutil.copyfile(git_dir / "index", index)  # keeps sparse and staged state
        else:
            repo.run("read-tree", *([head] if head else ["--empty"]), env=env, cwd=path)
        repo.run(*repo.filter_off_args(), "add", "--all", "--", ".", env=env, cwd=path)
        tree = repo.run("write-tree", env=env, cwd=path).decode().strip()
    message = f"uet: uncommitted work of {name}, saved before its worktree {path.name} was removed"
    commit = repo.write_commit(tree, [head] if head else [], message)
    return keep_commit(repo, name, commit)


def keep_commit(repo: Repo, name: str, commit: str) -> str:
    """Keep `commit` under the next free `refs/uet-saved/<name>/<n>`; that ref."""
    prefix = f"{SAVED_PREFIX}{name}/"
    while True:
        taken = {int(r.rsplit("/", 1)[1]) for r in _refs(repo, prefix) if r.rsplit("/", 1)[1].isdigit()}
        ref = f"{prefix}{max(taken, default=0) + 1}"
        try:
            repo.update_refs([RefUpdate(ref, commit, None)], f"uet: save uncommitted work of {name}")
            return ref
        except RefMoved:
            continue  # another save took that number


def saved_refs(repo: Repo, name: str) -> list[str]:
    """Refs under which work of `name` was saved, oldest first."""
    return sorted(_refs(repo, f"{SAVED_PREFIX}{name}/"), key=lambda r: int(r.rsplit("/", 1)[1]))


def _refs(repo: Repo, prefix: str) -> list[str]:
    return repo.run("for-each-ref", "--format=%(refname)", prefix).decode().split()


def changed_paths(repo: Repo, path: Path) -> set[str]:
    """Paths with uncommitted changes in a worktree (staged, unstaged or untracked)."""
    out = repo.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", cwd=path)
    return {item[3:] for item in zsplit(out)}


def commit_all(repo: Repo, path: Path, message: str) -> str | None:
    """Commit everything uncommitted in a worktree (hooks off); the new HEAD, or None when
    there was nothing to commit.

    Staged as plumbing, not `git add`: each file's bytes are written as a blob in-process
    and fed to `update-index --index-info`, so no clean filter, text or encoding
    conversion touches what the workstream wrote. A folder git reports as a change is an
    embedded repository: git stages it as a gitlink (no content passes). A gitlink the
    workstream staged itself (`update-index --cacheinfo 160000,...`) has no folder and stays
    as staged, for the patch checks to judge as the submodule it is."""
    changed = changed_paths(repo, path)
    if not changed:
        return None
    repo.hold_gc()
    staged = repo.run("ls-files", "--stage", "-z", cwd=path)
    gitlinks = {entry.split("\t", 1)[1] for entry in zsplit(staged) if entry.startswith(f"{MODE_GITLINK:o} ")}
    lines, nested = [], []
    for rel in sorted(changed):
        full = path / rel
        if rel in gitlinks and not full.exists():
            continue
        if full.is_symlink():
            lines.append(f"{MODE_LINK:o} {repo.write_blob(os.fsencode(os.readlink(full)))}\t{rel}")
        elif full.is_file():
            mode = MODE_EXEC if full.stat().st_mode & 0o111 else MODE_BLOB
            lines.append(f"{mode:o} {repo.write_blob(full.read_bytes())}\t{rel}")
        elif full.is_dir():
            nested.append(rel.rstrip("/"))
        else:
            lines.append(f"0 {ZERO}\t{rel}")  # deleted
    if lines:
        repo.run("update-index", "-z", "--index-info", cwd=path,
                 input=b"".join(line.encode("utf-8", "surrogateescape") + b"\0" for line in lines))
    if nested:
        repo.run("add", "--", *nested, cwd=path)
    if repo.run_result("diff", "--cached", "--quiet", "--no-ext-diff", cwd=path).code == 0:
        return None  # staged, then removed again: the same tree as HEAD
    repo.run("commit", "--quiet", "--no-verify", "--allow-empty-message", "-m", message, cwd=path)
    return repo.run("rev-parse", "HEAD", cwd=path).decode().strip()


def fast_forward_checkout(repo: Repo, path: Path, old: str, new: str) -> None:
    """Bring a checkout whose branch moved from `old` to `new` forward, as
    `git merge --ff-only` would have: index and files follow, local edits are kept
    (two-tree `read-tree -m -u` refuses rather than overwrite them). The index is
    refreshed first, as `git merge` does: a file only touched is not a local edit."""
    repo.run_result("update-index", "-q", "--refresh", cwd=path)  # exit 1 lists real edits: read-tree refuses those
    repo.run(*repo.filter_off_args(), "read-tree", "-m", "-u", old, new, cwd=path)


def move_checkout(repo: Repo, path: Path, old: str, new: str) -> None:
    """Move the branch checked out in `path` from `old` to `new`, index and files with it
    (`git reset --keep`: refuses rather than lose a local edit); filters off."""
    head = repo.run("rev-parse", "HEAD", cwd=path).decode().strip()
    if head != old:
        raise RefMoved(f"HEAD of {path}", old, head)
    repo.run(*repo.filter_off_args(), "reset", "--quiet", "--keep", new, cwd=path)


def prepare_sparse(repo: Repo) -> None:
    """Turn on per-worktree config (`extensions.worktreeConfig`), which the first sparse
    checkout would write into the shared config: done up front, so the shared config does
    not change under workstreams already running (their git-admin digest would see it)."""
    with admin_lock(repo):
        if repo.run_result("config", "--file", str(repo.common_dir / "config"), "--bool",
                           "extensions.worktreeConfig").text.strip() != "true":
            repo.run("config", "--file", str(repo.common_dir / "config"), "extensions.worktreeConfig", "true")
