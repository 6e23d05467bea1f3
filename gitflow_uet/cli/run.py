from __future__ import annotations

import os
import signal
import threading
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
    from gitflow_uet.run.runner import RunCancelled, run

    # Ctrl-C and SIGTERM ask the run to stop; it winds down (tasks killed and waited for,
    # its unfinished work back to planned, its record cancelled) before we say so. A
    # second one stops at once, as a kill -9 would; the next run recovers from that too.
    stop = threading.Event()
    received: list[int] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            os.write(2, b"git uet: interrupted again: stopped at once; the next `git uet run` "
                        b"recovers what this run held\n")
            os._exit(128 + signum)
        os.write(2, b"git uet: stopping: killing this run's tasks (interrupt again to stop at once)\n")
        stop.set()

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    project = Project.open()
    with project:  # closed on every way out; reopened for the run below
        project.require_target()
        warn_specs(project, broken=False)
    try:
        with project, Progress(json_) as progress:
            result = run(project, workstreams or None, workers=workers, on_event=progress, stop=stop)
    except RunCancelled as cancelled:
        back = f" ({', '.join(cancelled.released)})" if cancelled.released else ""
        typer.echo(f"git uet: interrupted: run {cancelled.run_id} is cancelled, its tasks are stopped and "
                   f"its unfinished workstreams are back to planned{back}; `git uet run` carries on", err=True)
        raise typer.Exit(128 + received[0] if received else 130) from None
    if not json_ and not result.attempted and not result.errors:
        counts: dict[str, int] = {}
        for state in result.states.values():
            counts[state] = counts.get(state, 0) + 1
        listed = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none selected"
        typer.echo(f"run {result.run_id}: nothing to run: none of the selected workstreams is planned "
                   f"({listed}); `git uet reset WS` puts one back to planned")
    elif not json_:
        done = result.ids("integrated")
        typer.echo(f"run {result.run_id}: {len(done)}/{len(result.states)} integrated in {result.seconds:.1f}s")
        # On a terminal the live table replaced the event lines: this summary is where the
        # reasons are read, during nothing and after everything.
        ledger = project.ledger.state()
        for state in ("failed", "quarantined", "blocked"):
            for ws_id in result.ids(state):
                reasons = (ledger.get("workstream", ws_id) or {}).get("reasons") or []
                typer.echo(f"  {ws_id}: {state}: {'; '.join(reasons) or 'no reason recorded'}")
        if result.ids("failed", "quarantined", "blocked"):
            typer.echo("logs: git uet show WS")
        typer.echo("see: git uet status | git log refs/uet | git uet report")
    if not result.ok:
        raise typer.Exit(1)

