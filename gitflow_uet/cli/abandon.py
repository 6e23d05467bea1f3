from __future__ import annotations

import typer


def command(ws: str = typer.Argument(..., help="The workstream id.")) -> None:
    """Drop a running workstream back to planned; its work is saved under refs/uet-saved/."""
    from gitflow_uet.project import Project
    from gitflow_uet.workstream.lifecycle import abandon

    with Project.open() as project:
        saved, attempt = abandon(project, ws)
    typer.echo(f"{ws}: abandoned, planned (attempt {attempt})")
    for ref in saved:
        typer.echo(f"{ws}: its work is saved in {ref} (`git checkout {ref} -- .` brings it back)")
