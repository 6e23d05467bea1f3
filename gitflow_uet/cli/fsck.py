from __future__ import annotations

import typer


def command(
    repair: bool = typer.Option(False, "--repair", help="Fix what is provably safe to fix."),
    json_: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    from gitflow_uet.cli.render import emit_json
    from gitflow_uet.views.fsck import fsck
    from gitflow_uet.project import Project

    with Project.open() as project:
        report = fsck(project, repair=repair)
    if json_:
        emit_json(report.to_json())
    else:
        for problem in report.problems:
            mark = "fixed" if problem.fixed else ("repairable" if problem.repairable else "problem")
            typer.echo(f"{mark}\t{problem.kind}\t{problem.message}")
        if report.ok:
            typer.echo("ok" if not report.problems else f"ok ({len(report.repaired)} repaired)")
        elif not repair and any(p.repairable for p in report.remaining):
            typer.echo("run `git uet fsck --repair` to fix what is marked repairable", err=True)
    raise typer.Exit(0 if report.ok else 1)
