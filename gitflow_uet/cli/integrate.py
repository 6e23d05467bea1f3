from __future__ import annotations

import signal
import sys
import time
from types import FrameType
from typing import Any, Optional

import typer

# How each integrator event reads as a progress line on stderr.
_LINES = {
    "recovered": "{workstream}: recovered: {what}",
    "candidate": "{workstream}: candidate {short} on {base}",
    "gate-started": "{workstream}: gate {gate} ...",
    "gate-finished": "{workstream}: gate {gate} {summary} ({seconds}s)",
    "rebuild": "{workstream}: rebuilding: {reason}",
    "landed": "{workstream}: landed as {short}",
    "quarantined": "{workstream}: quarantined: {reasons}",
    "skipped": "{workstream}: skipped: {reason}",
    "rolled-back": "{workstream}: rolled back by {short}",
    "warning": "warning: {message}",
}


class _Missing(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "?"


def progress_line(kind: str, data: dict[str, Any]) -> str | None:
    template = _LINES.get(kind)
    if template is None:
        return None
    fields = dict(data)
    fields.setdefault("workstream", "-")
    fields["short"] = str(data.get("commit", ""))[:10]
    fields["base"] = str(data.get("target_tip", ""))[:10]
    if isinstance(fields.get("reasons"), list):
        fields["reasons"] = "; ".join(fields["reasons"])
    return template.format_map(_Missing(fields))


def show_progress(kind: str, data: dict[str, Any]) -> None:
    line = progress_line(kind, data)
    if line:
        print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def command(
    workstreams: Optional[list[str]] = typer.Argument(None, help="Only these workstreams (default: every queued one)."),
    wait: float = typer.Option(0, "--wait", metavar="SECONDS", help="Wait this long for another integrator's lease."),
    json_: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    from gitflow_uet.cli.render import emit_json
    from gitflow_uet.integrate.integrator import integrate
    from gitflow_uet.project import Project

    received: list[int] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        # Raised where the integrator is: a gate running is killed with all it started
        # (process.run), the lease released; every ref move being a compare-and-swap, a
        # landing is whole or not at all.
        received.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        with Project.open() as project:
            project.require_target()
            result = integrate(project, list(workstreams) if workstreams else None, on_event=show_progress,
                               wait=wait)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        typer.echo("git uet: interrupted: integration stopped, its gate killed; what was not landed stays "
                   "queued for the next `git uet integrate`", err=True)
        raise typer.Exit(128 + received[0] if received else 130) from None
    if json_:
        emit_json(result.to_json())
    else:
        for ws_id in result.landed:
            typer.echo(f"landed {ws_id} {result.commits[ws_id][:10]}")
        for ws_id in result.quarantined:
            typer.echo(f"quarantined {ws_id}: {'; '.join(result.reasons.get(ws_id, []))}")
        for ws_id in result.skipped:
            typer.echo(f"skipped {ws_id}: {'; '.join(result.reasons.get(ws_id, []))}")
        for warning in result.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if not (result.landed or result.quarantined or result.skipped):
            typer.echo("nothing queued")
    raise typer.Exit(0 if result.ok else 1)
