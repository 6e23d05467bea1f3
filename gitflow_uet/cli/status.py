from __future__ import annotations

import typer


def command(json_: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    from gitflow_uet.views import status as views
    from gitflow_uet.cli.render import emit_json, table, warn_specs
    from gitflow_uet.project import Project

    with Project.open() as project:
        doc = views.status(project)
        warn_specs(project)
    if json_:
        # Plain `--json` calls are answered by cli/__init__.py without typer, with this same
        # document (tests/test_fast_paths.py holds the two together).
        emit_json(doc)
        return
    if not doc["workstreams"]:
        typer.echo("no workstreams yet (write specs in the workstreams folder, then `git uet plan`)")
        return
    table(None, ["workstream", "state", "branch", "patch", "last change"],
          [[r["id"], r["state"], r["branch"], (r["patch"] or "")[:10] or None,
            f"{r['event'] or ''} {r['updated'] or ''}".strip() or None] for r in doc["workstreams"]])
    typer.echo("  ".join(f"{state}: {n}" for state, n in doc["counts"].items()), err=False)
