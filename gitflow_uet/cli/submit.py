from __future__ import annotations

import typer


def command(
    ws: str = typer.Argument(None, help="The workstream id (default: the workstream whose worktree you are in)."),
    json_: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    from gitflow_uet.cli.render import emit_json
    from gitflow_uet.project import Project
    from gitflow_uet.workstream.lifecycle import submit, workstream_here

    with Project.open() as project:
        ws = ws or workstream_here(project)
        result = submit(project, ws)
    if json_:
        emit_json({"workstream": ws, "patch": result.patch_id, "ok": result.ok,
                   "queued": result.queued, "reasons": result.reasons})
    elif result.ok:
        typer.echo(f"queued patch {result.patch_id}")
    else:
        for reason in result.reasons:
            typer.echo(reason)
        typer.echo(f"git uet: patch {result.patch_id} rejected; {ws} quarantined", err=True)
    if not result.ok:
        raise typer.Exit(1)
