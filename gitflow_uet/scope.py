"""Scope globs: which paths a workstream may touch.

`*` and `?` stay within one path segment, `**` spans any number of segments, and a
pattern with no wildcard names a file or a whole directory.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WILD = re.compile(r"[*?\[]")


@lru_cache(maxsize=1024)
def _regex(glob: str) -> re.Pattern[str]:
    glob = glob.strip("/")
    if not _WILD.search(glob):
        return re.compile(re.escape(glob) + r"(/.*)?")
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append(r"(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(r".*")
            i += 2
        elif glob[i] == "*":
            out.append(r"[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append(r"[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))


def matches(path: str, globs: list[str] | None) -> bool:
    """True when `path` is inside the scope; no scope (None) means anywhere."""
    if globs is None:
        return True
    return any(_regex(g).fullmatch(path) for g in globs)


def literal_prefix(glob: str) -> str:
    """The directory part of a glob before its first wildcard (`src/a/**` -> `src/a`)."""
    glob = glob.strip("/")
    match = _WILD.search(glob)
    if not match:
        return glob
    head = glob[: match.start()]
    return head.rsplit("/", 1)[0] if "/" in head else ""


def may_overlap(a: list[str] | None, b: list[str] | None) -> bool:
    """Whether two scopes could touch a common path (conservative: prefix-related globs
    count). A workstream without a scope is not held back: the integrator catches its
    conflicts."""
    if a is None or b is None:
        return False
    for x in a:
        for y in b:
            px, py = literal_prefix(x), literal_prefix(y)
            if px == "" or py == "" or _under(px, py) or _under(py, px):
                return True
    return False


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def cone_dirs(scope: list[str] | None, context: list[str] | tuple[str, ...] = ()) -> list[str] | None:
    """Directories a cone-sparse checkout needs for this scope plus context, or None when
    some glob could match anywhere (then the worktree must be full)."""
    if scope is None:
        return None
    dirs: set[str] = set()
    for glob in [*scope, *context]:
        glob = glob.strip("/")
        prefix = literal_prefix(glob)
        if not _WILD.search(glob):
            # A plain name may be a file: its directory is what the cone can hold.
            prefix = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        elif prefix == "" and ("/" in glob or "**" in glob):
            return None  # could match in any directory
        if prefix:
            dirs.add(prefix)  # top-level files are always in a cone checkout
    return sorted(dirs)
