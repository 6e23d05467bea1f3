"""Listing refs in bulk: one `for-each-ref` instead of a lookup per name."""

from __future__ import annotations

from gitflow_uet.git import Repo


def refs_under(repo: Repo, prefix: str) -> dict[str, str]:
    """Full ref name -> object id for every ref below `prefix` (e.g. `refs/heads/uet/`)."""
    # for-each-ref has no -z in git 2.39; ref names cannot hold a newline or NUL.
    out = repo.run("for-each-ref", "--format=%(refname)%00%(objectname)", prefix)
    pairs = (line.split("\0", 1) for line in out.decode("utf-8", "surrogateescape").splitlines() if "\0" in line)
    return {name: sha for name, sha in pairs}


def current_branch(repo: Repo) -> str | None:
    """The short name of the branch checked out where `repo` was opened; None when HEAD is
    detached (or points at a ref outside refs/heads/)."""
    done = repo.run_result("symbolic-ref", "--quiet", "HEAD")
    ref = done.text.strip() if done.code == 0 else ""
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
