from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def command(
    dir_: Optional[Path] = typer.Option(None, "--dir", help="Build the demo here (an empty or absent folder); "
                                        "a new temporary folder otherwise."),
    workers: int = typer.Option(3, "--workers", "-w", help="Parallel workers."),
    keep: bool = typer.Option(True, "--keep/--no-keep", help="Keep the demo repository to look around in."),
) -> None:
    import shutil

    from gitflow_uet.cli.progress import Progress
    from gitflow_uet.demo import run_demo

    with Progress(False) as progress:
        result = run_demo(dir_, workers=workers, on_event=progress)
    typer.echo(f"demo run {result.run_id} in {result.path}")
    width = max(len(ws) for ws in result.states)
    for ws_id, state in result.states.items():
        why = "; ".join(result.reasons.get(ws_id, [])) if state != "integrated" else ""
        typer.echo(f"  {ws_id:<{width}}  {state}" + (f"  ({why})" if why else ""))
    # The speedup is task time per second of wall time; building the project is neither.
    typer.echo(f"{len(result.target_log) - 1} commits landed on main in {result.seconds:.1f}s; speedup "
               f"{result.speedup:.2f}x ({result.task_seconds:.1f}s of task time in {result.seconds:.1f}s of run time; "
               f"{result.total_seconds:.1f}s with building the project)")
    if keep:
        typer.echo(f"report: {result.report_html}")
        typer.echo("look around:")
        typer.echo(f"  cd {result.path}")
        for line in ("git log --oneline main", "git log refs/uet", "git uet status", "git uet report --html report.html"):
            typer.echo(f"  {line}")
    else:
        shutil.rmtree(result.path, ignore_errors=True)
        typer.echo(f"removed {result.path}")
    if not result.ok:
        typer.echo(f"demo: the outcome differs from the design: {'; '.join(result.differences)}", err=True)
        raise typer.Exit(1)
