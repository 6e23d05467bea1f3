from __future__ import annotations

import datetime as dt
from typing import Optional

import typer


def command(
    item: Optional[str] = typer.Argument(None, help="A workstream or patch id; all transitions when absent."),
    limit: Optional[int] = typer.Option(None, "-n", "--limit", help="At most this many ledger commits."),
    json_: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    from gitflow_uet.views import status as views
    from gitflow_uet.cli.render import emit_json, warn_specs
    from gitflow_uet.project import Project

    with Project.open() as project:
        entries = views.log(project, item, limit)
        warn_specs(project)
    if json_:
        # Plain `--json` calls are answered by cli/__init__.py without typer, with this same
        # document (tests/test_fast_paths.py holds the two together).
        emit_json({"entries": entries})
        return
    for entry in entries:
        when = dt.datetime.fromtimestamp(entry["time"]).strftime("%Y-%m-%d %H:%M:%S")
        changes = entry["changes"]
        if len(changes) <= 1:
            typer.echo(f"{entry['commit'][:10]} {when} {entry['subject']}")
            continue
        typer.echo(f"{entry['commit'][:10]} {when}")
        for c in changes:
            typer.echo(f"    {c['id']}: {c['from'] or 'new'} → {c['to']} ({c['event']})")
