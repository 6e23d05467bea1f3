"""Plumbing that writes trees out as plain files: a hook's view of the index or of a
pushed commit, in a folder of its own, without touching the user's work tree or index.

Every checkout here runs with the repository's filter drivers turned off
(`Repo.filter_off_args`): exporting content must never run a repository's clean/smudge code.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from gitflow_uet.git import Repo, zsplit


def hooks_dir(repo: Repo) -> Path:
    """Where git looks for this repository's hooks: `git rev-parse --git-path hooks`, which
    honours `core.hooksPath` (relative values are taken from the worktree root, as git does
    when it runs a hook)."""
    # Our own git calls carry `-c core.hooksPath=/dev/null` (they must never run hooks), so
    # asking rev-parse directly would answer /dev/null. Find the user's value without our
    # command-line one and hand it back to rev-parse, which resolves it exactly as git does.
    done = repo.run_result("config", "-z", "--show-scope", "--get-all", "core.hooksPath")
    items = zsplit(done.out) if done.code == 0 else []
    configured = [value for scope, value in zip(items[::2], items[1::2]) if scope != "command"]
    if not configured:
        out = repo.run("rev-parse", "--path-format=absolute", "--git-common-dir")
        return Path(out.decode().strip()) / "hooks"
    out = repo.run("-c", f"core.hooksPath={configured[-1]}",
                   "rev-parse", "--path-format=absolute", "--git-path", "hooks")
    return Path(out.decode().strip())


def index_path(repo: Repo) -> Path:
    """This worktree's own index file (a linked worktree has its own)."""
    out = repo.run("rev-parse", "--path-format=absolute", "--git-path", "index", cwd=repo.here)
    return Path(out.decode().strip())


def export_index(repo: Repo, dest: Path, index_file: Path) -> None:
    """Write every file staged in `index_file` under `dest` (which must exist)."""
    # --ignore-skip-worktree-bits: a sparse worktree still commits the whole index, so the
    # export holds the whole index too. No -u: the index is only read, never rewritten (it
    # may be the index.lock of a commit in progress).
    repo.run(*repo.filter_off_args(), "checkout-index", "-a", "--ignore-skip-worktree-bits",
             f"--prefix={dest.resolve()}/", env={"GIT_INDEX_FILE": str(index_file)})


def export_commit(repo: Repo, sha: str, dest: Path) -> None:
    """Write the tree of commit `sha` under `dest` (which must exist).

    read-tree into a throwaway index inside the git dir, then checkout-index from it. Not
    `git archive`: that would apply export-ignore/export-subst and so not be the commit.
    """
    scratch = repo.uet_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=scratch))
    try:
        index = folder / "index"
        repo.run("read-tree", f"{sha}^{{tree}}", env={"GIT_INDEX_FILE": str(index)})
        export_index(repo, dest, index)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
