from __future__ import annotations

import typer


def command(
    ws: str = typer.Argument(..., help="The workstream id."),
    force: bool = typer.Option(False, "--force", help="Start even if its dependencies are not integrated yet."),
    from_quarantine: bool = typer.Option(
        False, "--from-quarantine", help="Resume from the quarantined branch uet/quarantine/<id>."),
) -> None:
    """Prints only the worktree's path, so `cd $(git uet start ws-1)` works."""
    from gitflow_uet.project import Project
    from gitflow_uet.workstream.lifecycle import start

    with Project.open() as project:
        result = start(project, ws, force=force, from_quarantine=from_quarantine)
    typer.echo(str(result.path))
