"""The tree object format: entries, and parsed trees that can be edited by splicing.

Trees are immutable, so a parsed tree is cached by its id (in `Repo`). `ParsedTree.splice`
writes a tree that differs from a parsed one in a few entries by copying the raw bytes of
all the others: the ledger's 256-entry fan-out trees cost a dict lookup and a byte copy,
not 256 entry objects, on every append.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from typing import Iterable, NamedTuple

from gitflow_uet.errors import GitError

MODE_TREE = 0o040000
MODE_BLOB = 0o100644
MODE_EXEC = 0o100755
MODE_LINK = 0o120000
MODE_GITLINK = 0o160000


# Value types are NamedTuples, not dataclasses: importing dataclasses (and the inspect
# module it loads) costs more than anything else `git uet status --json` imports.
class TreeEntry(NamedTuple):
    mode: int
    name: str
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == MODE_TREE


_TREE_ENTRY = re.compile(rb"([0-7]+) ([^\0]*)\0(.{20})", re.DOTALL)
_DIR_MODE = b"40000"  # how git spells MODE_TREE inside a tree object


class ParsedTree:
    """A tree object, parsed on first use: raw bytes, entry offsets and an index by name."""

    __slots__ = ("data", "_rows", "_starts", "_index", "_entries")

    def __init__(self, data: bytes):
        self.data = data
        self._rows: list[tuple[bytes, bytes, bytes]] | None = None  # (mode, name, 20-byte id)
        self._starts: list[int] = []
        self._index: dict[bytes, int] = {}
        self._entries: list[TreeEntry] | None = None

    def _parse(self) -> list[tuple[bytes, bytes, bytes]]:
        if self._rows is None:
            rows = _TREE_ENTRY.findall(self.data)
            starts = list(itertools.accumulate((len(m) + len(n) + 22 for m, n, _ in rows), initial=0))
            # In-order, non-overlapping matches that add up to the whole object tile it.
            if starts[-1] != len(self.data):
                raise GitError("malformed tree object")
            self._starts = starts
            self._index = {n: i for i, (_, n, _) in enumerate(rows)}
            self._rows = rows
        return self._rows

    def get(self, name: str) -> TreeEntry | None:
        rows = self._parse()
        i = self._index.get(name.encode("utf-8", "surrogateescape"))
        if i is None:
            return None
        mode, _, sha = rows[i]
        return TreeEntry(int(mode, 8), name, sha.hex())

    def entries(self) -> list[TreeEntry]:
        if self._entries is None:
            self._entries = [TreeEntry(int(m, 8), n.decode("utf-8", "surrogateescape"), s.hex())
                             for m, n, s in self._parse()]
        return self._entries

    def splice(self, put: Iterable[TreeEntry], remove: Iterable[str]) -> ParsedTree:
        """This tree with the entries `put` set (added or replaced) and the names in `remove`
        gone. The untouched entries are copied as raw slices; when every edit replaces an
        entry by one of the same size (a subtree that changed: what an append does to each
        fan-out tree on its path) the parse carries over as well."""
        rows = self._parse()
        index, starts, data = self._index, self._starts, self.data
        new = {e[0]: e for e in map(encode_entry, put)}
        gone = {index[n] for n in itertools.chain(new, (r.encode("utf-8", "surrogateescape") for r in remove))
                if n in index}
        # (position, 0 = insert before it | 1 = drop it, sort key, raw entry)
        cuts = [(i, 1, b"", b"") for i in gone]
        cuts += [(bisect_left(rows, key, key=sort_key), 0, key, raw) for _, key, raw, _ in new.values()]
        cuts.sort()
        out, pos = [], 0
        for i, drop, _key, raw in cuts:
            at = starts[i]
            out.append(data[pos:at])
            if drop:
                pos = starts[i + 1]
            else:
                out.append(raw)
                pos = at
        out.append(data[pos:])
        spliced = ParsedTree(b"".join(out))
        in_place = len(gone) == len(new) and all(
            i is not None and sort_key(rows[i]) == key and starts[i + 1] - starts[i] == len(raw)
            for i, key, raw in ((index.get(name), key, raw) for name, key, raw, _ in new.values()))
        if in_place:
            carried = rows.copy()
            for name, _, _, row in new.values():
                carried[index[name]] = row
            # Offsets and index are unchanged, and never mutated: shared, not copied.
            spliced._starts, spliced._index = starts, index
            spliced._rows = carried
        return spliced


def sort_key(row: tuple[bytes, bytes, bytes]) -> bytes:
    """git orders a tree's entries as if a subtree's name ended in "/"."""
    return row[1] + b"/" if row[0] == _DIR_MODE else row[1]


def encode_entry(entry: TreeEntry) -> tuple[bytes, bytes, bytes, tuple[bytes, bytes, bytes]]:
    """(name, sort key, raw entry, parsed row) of an entry to be written."""
    name = entry.name.encode("utf-8", "surrogateescape")
    if not name or b"/" in name or b"\0" in name:
        raise GitError(f"invalid tree entry name {entry.name!r}")
    row = (b"%o" % entry.mode, name, bytes.fromhex(entry.sha))
    return name, sort_key(row), b"%s %s\0%s" % row, row
