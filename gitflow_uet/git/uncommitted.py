"""What a worktree holds beyond its HEAD, read without writing a single object.

`git add` hashes every file into the object store, where a credential stays readable
until gc, whatever is refused afterwards. So the lines a commit would add are read first:
tracked changes from `git diff HEAD` (git hashes the work tree in memory only), untracked
files straight from disk (a symlink's target, never what it points at).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from gitflow_uet.git import Repo, zsplit

# -U0: only the added lines matter; -a: a "binary" file can hold a key as well.
_DIFF = ("-c", "core.quotePath=false", "diff", "--no-ext-diff", "--no-textconv", "--no-color", "--no-renames",
         "-a", "-U0", "--src-prefix=a/", "--dst-prefix=b/", "HEAD", "--")


def added_lines(repo: Repo, worktree: Path) -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """(path, [(line number, text), ...]) for each file a commit of everything in
    `worktree` would add lines to."""
    out = repo.run(*repo.filter_off_args(), *_DIFF, cwd=worktree).decode("utf-8", "surrogateescape")
    path, number, header = "", 0, False
    lines: list[tuple[int, str]] = []
    for line in out.split("\n"):
        if line.startswith("diff --git "):
            if lines:
                yield path, lines
            path, header = "", True
            lines = []
        elif header and line.startswith("+++ "):
            target = line[4:]
            path = target[2:] if target.startswith("b/") else target
        elif line.startswith("@@ "):
            # `@@ -a,b +c,d @@`: added lines are numbered from c.
            number, header = int(line.split(" ")[2][1:].split(",")[0]), False
        elif not header and line.startswith("+") and path:
            lines.append((number, line[1:]))
            number += 1
    if lines:
        yield path, lines
    untracked = repo.run("ls-files", "-z", "--others", "--exclude-standard", cwd=worktree)
    for rel in zsplit(untracked):
        file = worktree / rel
        try:
            if file.is_symlink():
                text = os.readlink(file)
            elif file.is_file():
                text = file.read_bytes().decode("utf-8", "surrogateescape")
            else:
                continue  # a nested repository, a socket
        except OSError:
            continue
        yield rel, list(enumerate(text.split("\n"), 1))


def detach_head(repo: Repo, worktree: Path) -> None:
    """Leave `worktree` on its commit, detached, its index and files as they are: the
    branch can then move (or go) without the worktree following it."""
    head = repo.run("rev-parse", "--verify", "HEAD", cwd=worktree).decode().strip()
    repo.run("update-ref", "--no-deref", "-m", "uet: detached, branch quarantined", "HEAD", head, cwd=worktree)
