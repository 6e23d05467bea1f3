from __future__ import annotations

import typer


def command(
    workstream: str = typer.Argument(..., help="An integrated workstream."),
    cascade: bool = typer.Option(False, "--cascade", help="Roll back the integrated workstreams that depend on it first."),
    wait: float = typer.Option(0, "--wait", metavar="SECONDS", help="Wait this long for the integrator's lease."),
    json_: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    from gitflow_uet.cli.integrate import show_progress
    from gitflow_uet.cli.render import emit_json
    from gitflow_uet.project import Project
    from gitflow_uet.integrate.rollback import rollback

    with Project.open() as project:
        done = rollback(project, workstream, cascade=cascade, on_event=show_progress, wait=wait)
    if json_:
        emit_json({"rolled_back": done})
        return
    for ws_id in done:
        typer.echo(f"rolled back {ws_id}")
