"""Derived data kept under `.git/uet/cache/`, keyed by what it was derived from.

Only ever a shortcut: deleting the folder loses nothing, the next command rebuilds it.
It spares the read paths (`status`, `show`) the YAML and pydantic imports once the
config and specs have been validated as they stand.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from gitflow_uet import __version__


def file_key(paths: list[Path]) -> list[Any]:
    """A cheap fingerprint of files: name, size and modification time of each."""
    key: list[Any] = [__version__]
    for path in sorted(paths):
        try:
            st = path.stat()
        except FileNotFoundError:
            key.append([str(path), None])
            continue
        key.append([str(path), st.st_size, st.st_mtime_ns])
    return key


def cached(folder: Path, name: str, key: Any, compute: Callable[[], Any]) -> Any:
    path = folder / f"{name}.json"
    try:
        doc = json.loads(path.read_text())
        if doc.get("key") == key:
            return doc["value"]
    except (OSError, ValueError):
        pass
    value = compute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "value": value}))
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    except OSError:
        pass  # a read-only repository still works, only slower
    return value
