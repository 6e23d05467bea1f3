from __future__ import annotations

import typer


def command(
    ws: str = typer.Argument(None, help="The workstream id (default: the workstream whose worktree you are in)."),
) -> None:
    """Rebase a running workstream onto the current target; conflicts by path, exit 1."""
    from gitflow_uet.project import Project
    from gitflow_uet.workstream.lifecycle import refresh, workstream_here

    project = Project.open()
    ws = ws or workstream_here(project)
    result = refresh(project, ws)
    target = project.config.target
    if result.new is None:
        for path in result.conflicts:
            typer.echo(f"conflict: {path}")
        typer.echo(f"git uet: {ws} conflicts with {target} ({result.onto[:12]}); nothing changed", err=True)
        raise typer.Exit(1)
    if result.new == result.old:
        typer.echo(f"{ws}: already on {target} ({result.onto[:12]})")
    else:
        typer.echo(f"{ws}: {result.commits} commit(s) replayed onto {target} ({result.onto[:12]}), "
                   f"now at {result.new[:12]}")
