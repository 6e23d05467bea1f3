from __future__ import annotations

import typer


def command(
    json_: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    mermaid: bool = typer.Option(False, "--mermaid", help="A mermaid flowchart of the DAG, one subgraph per wave."),
) -> None:
    from gitflow_uet.cli.render import emit_json, warn_specs
    from gitflow_uet.errors import UsageError
    from gitflow_uet.spec.plan import plan_from, to_json, to_mermaid
    from gitflow_uet.project import Project

    if json_ and mermaid:
        raise UsageError("--json and --mermaid are exclusive: choose one")
    with Project.open() as project:
        project.require_target()
        specs, config = project.specs, project.config
        warn_specs(project, broken=False)
    plan = plan_from(specs, gates=config.gates)
    if json_:
        emit_json(to_json(plan))
    elif mermaid:
        typer.echo(to_mermaid(plan, specs), nl=False)
    elif not specs:
        typer.echo(f"no workstreams in {config.workstreams}/: nothing to plan")
    else:
        for number, wave in enumerate(plan.waves, start=1):
            typer.echo(f"wave {number} (width {len(wave)}): {', '.join(wave)}")
        typer.echo(f"critical path: {' → '.join(plan.critical_path)} ({plan.critical_seconds:g} s)")
