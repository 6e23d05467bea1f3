"""Named fault points for crash-safety tests.

`UET_FAULT=<name>` makes the process kill itself with SIGKILL when it reaches that point:
exactly what `kill -9` at that line would do, so tests can prove a rerun converges.
`UET_FAULT=<name>:<n>` fires on the n-th time the point is reached (1-based).
"""

from __future__ import annotations

import os
import signal

_seen: dict[str, int] = {}


def point(name: str) -> None:
    wanted = os.environ.get("UET_FAULT")
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
