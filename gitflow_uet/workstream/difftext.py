"""Whether diff text is exactly what it says it is, before anything applies it.

`git apply` reads a hunk only as far as its `@@ -a,b +c,d @@` header declares and skips
what follows until the next header, so a hunk longer than declared loses its last lines
silently; and it applies a file's sections one after the other, so a diff may patch the
same file twice. Diffs that git produced itself are always consistent; diffs that arrive
from elsewhere (an llm adapter's answer, a hand-made diff) are checked here first, and a
corrupt one is refused whole.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from gitflow_uet.workstream.pathrules import shown

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_FILE = re.compile(r"^(?:diff --git |--- |\+\+\+ )")


def hunk_reasons(text: str) -> list[str]:
    """One `corrupt hunk:` reason per hunk whose lines disagree with its header (shorter,
    longer, or more of one side than declared); empty when every hunk is exact."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    reasons: list[str] = []
    path, number, i = "?", 0, 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("+++ "):
            path = _name(line[4:], "b/") or path
            number = 0
            continue
        if line.startswith("--- "):
            path = _name(line[4:], "a/") or path
            number = 0
            continue
        header = _HUNK.match(line)
        if header is None:
            continue
        number += 1
        old = int(header.group(2)) if header.group(2) is not None else 1
        new = int(header.group(4)) if header.group(4) is not None else 1
        where = f"corrupt hunk: {shown(path)} hunk {number} (@@ -{header.group(1)},{old} +{header.group(3)},{new} @@)"
        while old > 0 or new > 0:
            if i >= len(lines):
                reasons.append(f"{where}: shorter than its header declares")
                break
            body = lines[i]
            i += 1
            kind = body[:1]
            if kind in (" ", ""):  # an empty line is an empty context line (GNU diff)
                old, new = old - 1, new - 1
            elif kind == "-":
                old -= 1
            elif kind == "+":
                new -= 1
            elif kind == "\\":
                continue  # `\ No newline at end of file`
            else:
                reasons.append(f"{where}: shorter than its header declares")
                i -= 1
                break
            if old < 0 or new < 0:
                reasons.append(f"{where}: its lines do not match its header")
                break
        else:
            while i < len(lines) and lines[i].startswith("\\"):
                i += 1
            if i < len(lines) and not _ends_hunk(lines[i:]):
                reasons.append(f"{where}: longer than its header declares")
    return reasons


def _ends_hunk(rest: list[str]) -> bool:
    """Whether what follows a complete hunk is the next hunk, the next file, or nothing
    but blank lines: anything else would be skipped by git without a word."""
    first = rest[0]
    if _HUNK.match(first) or _FILE.match(first):
        return True
    return all(not line.strip() for line in rest)


def _name(field: str, prefix: str) -> str | None:
    field = field.split("\t", 1)[0].strip()
    if field == "/dev/null":
        return None
    return field[len(prefix):] if field.startswith(prefix) else field


def repeated_files(sections: Iterable[Iterable[str]]) -> list[str]:
    """`twice:` reasons for every path that more than one file section of a diff names
    (each section given as the paths it touches)."""
    counts = Counter(path for paths in sections for path in set(paths))
    return [f"twice: {shown(path)} is patched by {n} sections of the diff"
            for path, n in sorted(counts.items()) if n > 1]
