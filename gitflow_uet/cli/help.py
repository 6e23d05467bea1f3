from __future__ import annotations

from typing import Optional

import typer


def command(
    ctx: typer.Context,
    name: Optional[str] = typer.Argument(None, metavar="[COMMAND]", help="The command to describe; all when absent."),
) -> None:
    from gitflow_uet.errors import UsageError

    root = ctx.find_root()
    group = root.command
    if name is None:
        typer.echo(group.get_help(root))
        return
    sub = group.get_command(root, name) if hasattr(group, "get_command") else None
    if sub is None:
        raise UsageError(f"unknown command {name!r} (git uet help lists them)")
    typer.echo(sub.get_help(typer.Context(sub, info_name=name, parent=root)))
