from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

if TYPE_CHECKING:
    from gitflow_uet.integrate.gates import GateResult


def command(
    names: Optional[List[str]] = typer.Argument(None, help="Gates to run (default: integrate_gates)."),
    hook: Optional[str] = typer.Option(None, "--hook", help="Run the gates of this git hook instead: pre-commit or pre-push."),
    json_: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    from gitflow_uet.cli.render import emit_json
    from gitflow_uet.errors import UsageError
    from gitflow_uet.integrate.gates import GatesFailed, check_names, run_gates
    from gitflow_uet.integrate.hooks import gates_for_hook
    from gitflow_uet.project import Project

    if names and hook:
        raise UsageError("give gate names or --hook, not both")
    with Project.open() as project:  # gates need the config and the root, not the repository
        config, root = project.config, project.repo.here
    selected = gates_for_hook(config, hook) if hook else list(names or config.integrate_gates)
    check_names(selected, config.gates)
    width = max((len(n) for n in selected), default=0)
    # Every gate runs even after a red one: whoever asked sees all that is wrong at once.
    results = run_gates(
        selected, config.gates, root,
        timeout=getattr(config, "gate_timeout", 1800),
        max_output=getattr(config, "max_output_bytes", 1_000_000),
        on_result=None if json_ else (lambda r: show(r, width)),
        stop_on_failure=False,
    )
    ok = all(r.ok for r in results)
    if json_:
        emit_json({"ok": ok, "root": str(root), "gates": [r.to_json() for r in results]})
    elif not selected:
        typer.echo("no gates to run")
    if not ok:
        red = [r.name for r in results if not r.ok]
        # A UetError rather than typer.Exit(1): run_guarded (standalone_mode=False) drops
        # the code of a typer.Exit, and a red gate must never exit 0.
        raise GatesFailed(f"{len(red)} of {len(results)} gates failed: {', '.join(red)}")


def line(result: GateResult, width: int) -> str:
    """`ok   unit  1.2s` or `FAIL unit  exit 1  0.3s`."""
    status = "ok  " if result.ok else "FAIL"
    middle = "" if result.ok else f"  {result.summary()}"
    return f"{status} {result.name:<{width}}{middle}  {result.seconds:.1f}s"


def show(result: GateResult, width: int, *, err: bool = False) -> None:
    """A gate's line, and for a red gate its captured output after it."""
    typer.echo(line(result, width), err=err)
    if not result.ok and result.output:
        text = result.text
        typer.echo(text if text.endswith("\n") else text + "\n", nl=False, err=err)
