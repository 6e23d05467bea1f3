from __future__ import annotations

import typer


def command(
    action: str = typer.Argument(..., help="install or uninstall", metavar="install|uninstall"),
) -> None:
    from gitflow_uet.integrate import hooks
    from gitflow_uet.errors import UsageError
    from gitflow_uet.project import Project

    if action not in ("install", "uninstall"):
        raise UsageError(f"unknown action {action!r}: use `git uet hooks install` or `git uet hooks uninstall`")
    with Project.open() as project:
        messages = hooks.install(project) if action == "install" else hooks.uninstall(project)
    for message in messages:
        typer.echo(message)
