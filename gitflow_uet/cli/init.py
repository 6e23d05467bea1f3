from __future__ import annotations

import typer


def command() -> None:
    from gitflow_uet.spec.bootstrap import initialize
    from gitflow_uet.project import Project

    with Project.open() as project:
        result = initialize(project)
    if not result.changed:
        typer.echo("already initialized: nothing changed")
        return
    for item in result.created:
        typer.echo(f"created {item}")
