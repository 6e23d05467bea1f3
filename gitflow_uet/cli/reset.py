from __future__ import annotations

import typer


def command(ws: str = typer.Argument(..., help="The workstream id.")) -> None:
    from gitflow_uet.project import Project
    from gitflow_uet.workstreams import reset

    project = Project.open()
    reset(project, ws)
    record = project.ledger.state().get("workstream", ws) or {}
    typer.echo(f"{ws}: planned (attempt {record.get('attempt', '?')})")
