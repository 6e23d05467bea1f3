"""Whether refs are complete: every object reachable from them is in the object store.

git answers it (`git fsck --connectivity-only` with the refs' tips as its only heads): it
walks commits, trees and blobs without hashing them, and names each missing object and
the object that points at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from gitflow_uet.git import Repo

_MISSING = re.compile(r"^missing (\w+) ([0-9a-f]{40,64})$", re.M)
_BROKEN = re.compile(r"^broken link from\s+(\w+) ([0-9a-f]{40,64})\s*\n\s+to\s+(\w+) ([0-9a-f]{40,64})$", re.M)


@dataclass(frozen=True)
class Missing:
    """An object a ref needs that the store does not hold."""

    kind: str  # commit, tree or blob
    sha: str
    referrer: str | None  # "<kind> <sha>" of an object that points at it; None for a ref's own tip

    def describe(self) -> str:
        where = f", referenced by {self.referrer}" if self.referrer else " (the ref's own tip)"
        return f"missing {self.kind} {self.sha}{where}"


def missing_objects(repo: Repo, tips: Sequence[str]) -> list[Missing]:
    """Every object reachable from `tips` that is missing (tips included); [] when complete."""
    present = [t for t in dict.fromkeys(tips) if repo.read_named(t) is not None]
    found = [Missing("object", t, None) for t in dict.fromkeys(tips) if t not in present]
    if not present:
        return found
    done = repo.run_result("fsck", "--connectivity-only", "--no-dangling", "--no-progress", "--no-reflogs",
                           *present)
    text = done.out.decode("utf-8", "replace") + "\n" + done.err.decode("utf-8", "replace")
    referrers = {m.group(4): f"{m.group(1)} {m.group(2)}" for m in _BROKEN.finditer(text)}
    for m in _MISSING.finditer(text):
        found.append(Missing(m.group(1), m.group(2), referrers.get(m.group(2))))
    if done.code != 0 and not found:
        # fsck failed without naming a missing object (a corrupt one, say): report it as is.
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        found.append(Missing("object", "?", "; ".join(lines[-3:]) or f"git fsck exit {done.code}"))
    return found
