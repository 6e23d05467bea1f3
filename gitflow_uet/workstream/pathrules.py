"""Rules on the paths a patch may hold, whatever its scope: nothing git would read as its
own `.git` on some platform, nothing under `.uet/`, no control characters.

git refuses to check out a tree holding a path component it treats as `.git` (read-cache.c
`verify_path`, with `core.protectNTFS`/`core.protectHFS`), so such a path, once landed,
breaks every later checkout. The equivalents follow git's own `is_ntfs_dotgit` and
`is_ntfs_dot_generic` (path.c) and `is_hfs_dot_generic` (utf8.c):

- NTFS: trailing dots and spaces are dropped (`.git.`, `.git `), the 8.3 short names
  (`GIT~1`, `GITMOD~1`, `GI7EBA~1`) name the same file, and `.git:stream` is `.git`;
  a backslash separates components.
- HFS+: some Unicode code points are ignored inside names (`.g\\u200cit`).
- both: case does not matter.

Paths are shown through `shown()` in every reason, so a control character in a path is
never printed raw (an ESC would drive the terminal).
"""

from __future__ import annotations

import re
import unicodedata

# utf8.c next_hfs_char: code points HFS+ ignores completely when comparing names.
_HFS_IGNORED = frozenset(
    [0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
     0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F, 0xFEFF]
)
# path.c: the names git protects besides `.git`, with the prefix of their NTFS 8.3 short
# name when the long name's first six characters are not used (a hash of the name).
_DOTFILES = {"gitmodules": "gi7eba", "gitattributes": "gi7d29", "gitignore": "gi250a", "mailmap": "maba30"}


def _hfs_fold(name: str) -> str:
    return "".join(c for c in name if ord(c) not in _HFS_IGNORED).casefold()


def _only_dots_spaces_then_end(rest: str) -> bool:
    # NTFS drops trailing dots and spaces; `:` starts an alternate data stream of the name.
    for c in rest:
        if c == ":":
            return True
        if c not in ". ":
            return False
    return True


def _ntfs_short_name(name: str, long_name: str, short_prefix: str) -> bool:
    # The regular short name: the long name's first six characters, `~1` to `~4`.
    if name[:6].lower() == long_name[:6] and name[6:7] == "~" and "1" <= name[7:8] <= "4":
        return _only_dots_spaces_then_end(name[8:])
    # The fall-back short name: up to six characters of a hash-based prefix, `~`, then
    # digits (the first 1-9) up to eight characters in all.
    i, saw_tilde = 0, False
    while i < 8:
        if i >= len(name):
            return False
        c = name[i]
        if saw_tilde:
            if not "0" <= c <= "9":
                return False
        elif c == "~":
            i += 1
            if not "1" <= name[i:i + 1] <= "9":
                return False
            saw_tilde = True
        elif i >= 6 or ord(c) > 127 or c.lower() != short_prefix[i]:
            return False
        i += 1
    return _only_dots_spaces_then_end(name[8:])


def _ntfs_is(name: str, long_name: str, short_prefix: str) -> bool:
    if name[:1] == "." and name[1:1 + len(long_name)].lower() == long_name:
        return _only_dots_spaces_then_end(name[1 + len(long_name):])
    return _ntfs_short_name(name, long_name, short_prefix)


def is_dotgit(component: str) -> bool:
    """Whether git treats this path component as `.git` on some platform."""
    if _hfs_fold(component) == ".git":
        return True
    lowered = component.lower()
    if lowered.startswith(".git"):
        return _only_dots_spaces_then_end(component[4:])
    if lowered.startswith("git~1"):
        return _only_dots_spaces_then_end(component[5:])
    return False


def special_name(component: str) -> str | None:
    """The git-special dotfile (`.gitmodules`, `.gitattributes`, `.gitignore`, `.mailmap`)
    this component names on some platform (`.GITMODULES.`, `GITMOD~1`, `.gitmodule\\u200cs`),
    so policy lists judge it as that file; None for any other name."""
    folded = _hfs_fold(component)
    for long_name, short_prefix in _DOTFILES.items():
        if folded == "." + long_name or _ntfs_is(component, long_name, short_prefix):
            return "." + long_name
    return None


def components(path: str) -> list[str]:
    # git on Windows (and git fsck everywhere) reads a backslash as a separator.
    return re.split(r"[/\\]", path)


def has_control(path: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in path)


def shown(path: str) -> str:
    """The path as a reason or a log line may print it: unchanged when plain, otherwise in
    double quotes with control and invisible characters escaped (as git quotes names)."""
    if not any(_needs_escape(c) for c in path):
        return path
    out = []
    for c in path:
        if c in '"\\':
            out.append("\\" + c)
        elif c in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[c])
        elif _needs_escape(c):
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _needs_escape(c: str) -> bool:
    # Cc: C0/C1 controls (ESC, CSI); Cf: invisible format characters (bidi overrides);
    # Cs: a lone surrogate, i.e. a byte that was not UTF-8.
    return unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")


def path_reasons(path: str, *, allow_control: bool = False) -> list[str]:
    """Why `path` may not be in a patch whatever the scope says; empty when it may."""
    reasons = []
    parts = components(path)
    if any(is_dotgit(p) for p in parts):
        plain = ".git" in parts
        reasons.append(f"protected: {shown(path)}" + ("" if plain else " (git reads it as .git)"))
    elif parts and _root_is_uet(parts[0]):
        plain = parts[0] == ".uet"
        reasons.append(f"protected: {shown(path)}" + ("" if plain else " (the same as .uet/ on some platforms)"))
    if not allow_control and has_control(path):
        reasons.append(f"control characters: {shown(path)}")
    return reasons


def _root_is_uet(first: str) -> bool:
    # `.uet/` at the root holds the tool's config; its case and NTFS variants too.
    folded = _hfs_fold(first)
    return folded == ".uet" or (folded.startswith(".uet") and _only_dots_spaces_then_end(first[4:]))


def policy_name(path: str) -> str:
    """`path` with each git-special component replaced by the name it stands for, so that
    `forbid: [.gitmodules]` also refuses `GITMOD~1` and `.gitmodules.`."""
    parts = components(path)
    return "/".join(special_name(p) or p for p in parts)
