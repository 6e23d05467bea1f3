from __future__ import annotations

import typer


def command(
    ws: list[str] = typer.Argument(None, help="Workstream ids."),
    failed: bool = typer.Option(False, "--failed", help="Also every failed workstream."),
    quarantined: bool = typer.Option(False, "--quarantined", help="Also every quarantined workstream."),
) -> None:
    from gitflow_uet.errors import UetError, UsageError
    from gitflow_uet.project import Project
    from gitflow_uet.workstream.lifecycle import in_states, reset

    with Project.open() as project:
        states = (("failed",) if failed else ()) + (("quarantined",) if quarantined else ())
        ids = list(dict.fromkeys([*(ws or []), *in_states(project, states)]))
        if not ids:
            if not states:
                raise UsageError("name the workstreams to reset (or --failed / --quarantined)")
            typer.echo(f"nothing to reset: no workstream is {' or '.join(states)}")
            return
        errors = 0
        for ws_id in ids:
            try:
                saved = reset(project, ws_id)
            except UetError as err:
                typer.echo(f"git uet: {err}", err=True)
                errors += 1
                continue
            record = project.ledger.state().get("workstream", ws_id) or {}
            typer.echo(f"{ws_id}: planned (attempt {record.get('attempt', '?')})")
            for ref in saved:
                typer.echo(f"{ws_id}: uncommitted work saved in {ref} (`git checkout {ref} -- .` brings it back)")
        if errors:
            raise typer.Exit(2)
