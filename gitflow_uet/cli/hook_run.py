from __future__ import annotations

import sys
from typing import List, Optional

import typer


def command(
    hook: str = typer.Argument(..., help="pre-commit or pre-push"),
    args: Optional[List[str]] = typer.Argument(None, help="The hook's own arguments, as git passed them."),
) -> None:
    from gitflow_uet.cli.gate import show
    from gitflow_uet.integrate.gates import GatesFailed
    from gitflow_uet.integrate.hooks import run_hook
    from gitflow_uet.project import Project

    # Only pre-push gets input from git; reading a terminal would hang a hand-run hook.
    stdin = b"" if hook != "pre-push" or sys.stdin.isatty() else sys.stdin.buffer.read()
    # git shows a hook's stderr to the user; stdout of some hooks is swallowed or redirected.
    with Project.open() as project:
        results = run_hook(project, hook, list(args or []), stdin,
                           on_result=lambda r: show(r, len(r.name), err=True))
    if not all(r.ok for r in results):
        red = next(r for r in results if not r.ok)
        refused = "commit" if hook == "pre-commit" else "push"
        # Exit 1 makes git refuse; a UetError because run_guarded drops typer.Exit codes.
        raise GatesFailed(f"{hook} gate {red.name!r} failed ({red.summary()}): {refused} refused")
