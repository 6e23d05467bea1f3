from __future__ import annotations

import signal
from types import FrameType
from typing import List, Optional

import typer


def command(
    workstreams: Optional[List[str]] = typer.Argument(None, help="Workstreams to run (with their dependencies); all when absent."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Parallel workers (default: config `workers`)."),
    json_: bool = typer.Option(False, "--json", help="Stream one JSON event per line on stdout."),
) -> None:
    from gitflow_uet.cli.progress import Progress
    from gitflow_uet.cli.render import warn_specs
    from gitflow_uet.project import Project
    from gitflow_uet.runner import run

    project = Project.open()
    project.require_target()
    warn_specs(project, broken=False)
    # SIGTERM stops a run the way Ctrl-C does: tasks killed, unfinished work back to planned.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with Progress(json_) as progress:
            result = run(project, workstreams or None, workers=workers, on_event=progress)
    except KeyboardInterrupt:
        typer.echo("git uet: interrupted: the run is cancelled, its unfinished workstreams are back to "
                   "planned; `git uet run` carries on", err=True)
        raise typer.Exit(130) from None
    if not json_:
        done = result.ids("integrated")
        typer.echo(f"run {result.run_id}: {len(done)}/{len(result.states)} integrated in {result.seconds:.1f}s")
        for state in ("failed", "quarantined", "blocked"):
            ids = result.ids(state)
            if ids:
                typer.echo(f"  {state}: {', '.join(ids)}")
        typer.echo("see: git uet status | git log refs/uet | git uet report")
    if not result.ok:
        raise typer.Exit(1)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
