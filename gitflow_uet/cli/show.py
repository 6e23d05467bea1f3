from __future__ import annotations

import json

import typer


def command(
    item: str = typer.Argument(..., help="A workstream or patch id."),
    json_: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    from gitflow_uet.views import status as views
    from gitflow_uet.cli.render import emit_json, warn_specs
    from gitflow_uet.project import Project

    with Project.open() as project:
        doc = views.show(project, item)
        warn_specs(project)
    if json_:
        # Plain `--json` calls are answered by cli/__init__.py without typer, with this same
        # document (tests/test_fast_paths.py holds the two together).
        emit_json(doc)
        return
    record = doc["record"]
    typer.echo(f"{doc['kind']} {record['id']}: {record['state']}")
    for key in sorted(record):
        if key in {"id", "state", "kind"}:
            continue
        value = record[key]
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        typer.echo(f"  {key}: {value}")
    for patch in doc.get("patches", []):
        reasons = "; ".join(patch.get("reasons") or [])
        typer.echo(f"patch {patch['id']}: {patch['state']}" + (f" ({reasons})" if reasons else ""))
    typer.echo("history:")
    for entry in doc["history"]:
        for c in entry["changes"]:
            typer.echo(f"  {entry['commit'][:10]} {c['id']}: {c['from'] or 'new'} → {c['to']} ({c['event']})")
    for path, text in doc["blobs"].items():
        typer.echo(f"--- {path} ---")
        typer.echo(text.rstrip("\n"))
