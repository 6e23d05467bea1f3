"""Path globs: which paths a workstream may touch (`scope`), and the policy lists
(`forbid`, `protect`, `protect_tests`) that use the same syntax.

Matching is wcmatch's `globmatch`, anchored at the repository root: `*`, `?` and `[...]`
stay within one path segment and match dotfiles too, `**` spans any number of segments,
and `\\` escapes a wildcard. A pattern with no wildcard names a file or a whole directory
(`src/greet` holds `src/greet/a.py`). Braces and a leading `!` are literal.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from wcmatch import glob

_FLAGS = glob.GLOBSTAR | glob.DOTGLOB | glob.CASE
# Policy lists guard against what a case-insensitive checkout (macOS, Windows) would make
# of a path, so `.ENV` is as protected as `.env`.
_FOLDED = glob.GLOBSTAR | glob.DOTGLOB | glob.IGNORECASE


def is_wild(pattern: str) -> bool:
    """Whether `pattern` holds a wildcard (an escaped one counts: it is not plain text)."""
    return "\\" in pattern or glob.is_magic(pattern, flags=_FLAGS)


@lru_cache(maxsize=4096)
def _match(path: str, pattern: str, flags: int) -> bool:
    pattern = pattern.strip("/")
    if not is_wild(pattern):
        if flags & glob.IGNORECASE:
            path, pattern = path.casefold(), pattern.casefold()
        return path == pattern or path.startswith(pattern + "/")
    return bool(glob.globmatch(path, pattern, flags=flags))


def matches(path: str, globs: list[str] | None) -> bool:
    """True when `path` is inside the scope; no scope (None) means anywhere."""
    if globs is None:
        return True
    return any(_match(path, g, _FLAGS) for g in globs)


def matches_any_case(path: str, globs: Sequence[str]) -> bool:
    """`matches` for a policy list: case-insensitive, and a pattern without a slash
    (`.env`, `.env.*`, `.gitattributes`) matches that name in any directory, as git reads
    nested `.gitattributes` and tools read nested `.env` files."""
    name = path.rsplit("/", 1)[-1]
    return any(_match(name if "/" not in g.strip("/") else path, g, _FOLDED) for g in globs)


def literal_prefix(pattern: str) -> str:
    """The directory part of a glob before its first wildcard segment (`src/a/**` -> `src/a`)."""
    segments = pattern.strip("/").split("/")
    literal: list[str] = []
    for segment in segments:
        if is_wild(segment):
            return "/".join(literal)
        literal.append(segment)
    return "/".join(literal)


def names_explicitly(pattern: str, path: str, protected: str) -> bool:
    """Whether the scope entry `pattern` names `path` (which the protect entry `protected`
    covers) explicitly: it matches `path`, and it writes out without wildcards at least
    what `protected` writes before its first wildcard. A plain path or folder always does
    (`.github`, `workstreams/a.yaml`); a glob must begin with the protected part
    (`.github/workflows/*.yml` for `.github/workflows/**`, but not `.github/**` nor `**`).
    For a protect entry without a slash (`.env.*`, matched in any folder) the comparison is
    on the last segment (`config/.env.*` names `config/.env.local`, `config/*` does not)."""
    if not matches(path, [pattern]):
        return False
    pattern = pattern.strip("/")
    if not is_wild(pattern):
        return True
    protected = protected.strip("/")
    if "/" not in protected:
        pattern = pattern.rsplit("/", 1)[-1]
    return _head(pattern).casefold().startswith(_head(protected).casefold())


def _head(pattern: str) -> str:
    """The characters of `pattern` before its first wildcard or escape."""
    for i, char in enumerate(pattern):
        if char in "*?[\\":
            return pattern[:i]
    return pattern


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
    for pattern in [*scope, *context]:
        pattern = pattern.strip("/")
        prefix = literal_prefix(pattern)
        if not is_wild(pattern):
            # A plain name may be a file: its directory is what the cone can hold.
            prefix = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        elif prefix == "" and ("/" in pattern or "**" in pattern):
            return None  # could match in any directory
        if prefix:
            dirs.add(prefix)  # top-level files are always in a cone checkout
    return sorted(dirs)
