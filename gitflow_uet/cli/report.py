from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def command(
    run: Optional[str] = typer.Argument(None, help="A run id (or a unique prefix of one); the newest run when absent."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the report as one self-contained HTML file."),
    json_: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    from gitflow_uet.cli.render import emit_json, table
    from gitflow_uet.project import Project
    from gitflow_uet.views.report import build_report

    with Project.open() as project:
        report = build_report(project, run)
    if html is not None:
        from gitflow_uet.views.report_html import render_html

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(report), encoding="utf-8")
        # With --json, stdout holds the JSON document alone.
        typer.echo(str(html.resolve()), err=json_)
    if json_:
        emit_json(report)
        return
    if html is not None:
        return
    meta, totals = report["run"], report["totals"]
    typer.echo(f"run {meta['id']}: {meta['state']} in {_s(totals['seconds'])} with {meta['workers']} workers "
               f"(started {meta['started']} on {meta['host']})")
    table(None, ["workstream", "outcome", "worker", "duration", "wait", "queue wait", "gates"],
          [[r["id"], r["outcome"], r["worker"], _s(r["duration"]), _s(r["wait"]), _s(r["queue_wait"]),
            " ".join(f"{g}:{'ok' if v['ok'] else 'failed'}({_s(v['seconds'])})" for g, v in r["gates"].items())]
           for r in report["workstreams"]])
    for r in report["workstreams"]:
        for reason in r["reasons"]:
            typer.echo(f"  {r['id']} {r['outcome']}: {reason}")
    typer.echo("  ".join(f"{state}: {n}" for state, n in totals["outcome"].items()))
    typer.echo(f"sum of task times {_s(totals['sum_task_seconds'])} in {_s(totals['seconds'])} wall: "
               f"speedup {totals['speedup']:.2f}x")
    plan = report.get("plan") or {}
    if plan.get("critical_path"):
        took = plan.get("critical_actual_seconds")
        typer.echo(f"critical path: {' → '.join(plan['critical_path'])} (estimated {plan['critical_estimate_seconds']:g}s"
                   + (f", took {took:.2f}s)" if took is not None else ")"))
    for error in meta["errors"]:
        typer.echo(f"error: {error}")


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}s"
