"""Shared rendering: JSON for scripts, rich tables for people, plain lines when piped."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit_json(doc: Any) -> None:
    # Indented for a person at a terminal; compact otherwise, which also keeps json on its
    # C encoder (indent forces the pure-Python one: 10x slower on a large ledger).
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(doc, indent=indent, ensure_ascii=False, default=str) + "\n")


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """A table on a terminal; tab-separated lines when piped (stable for grep/awk)."""
    if not sys.stdout.isatty():
        for row in rows:
            print("\t".join("" if v is None else str(v) for v in row))
        return
    from rich.table import Table

    t = Table(title=title, show_edge=False, header_style="bold")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console().print(t)
