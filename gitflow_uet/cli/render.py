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
    """A table on a terminal; when piped, a tab-separated header line and then one
    tab-separated line per row (stable for grep/awk; skip the first line)."""
    if not sys.stdout.isatty():
        # A header line, so a file or pager holding the output says what its columns are.
        print("\t".join(columns))
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


def warn_specs(project: Any, *, broken: bool = True) -> None:
    """Name each spec file that cannot be read (and each oddity) on stderr: reading commands
    show everything else rather than fail on one broken file. `broken=False`: only the
    oddities (for commands that refuse broken specs with an error of their own)."""
    for line in project.spec_problems() if broken else project.spec_folder.warnings:
        print(f"warning: {line}", file=sys.stderr)
