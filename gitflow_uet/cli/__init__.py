"""The `git uet` command line: parse, call the core, render. Nothing else lives here.

Each command is one module in this package exposing `command`. Modules import only typer
(and rich) at module level; the core is imported inside the command so that a command
pays only for what it uses.
"""

from __future__ import annotations

import importlib
import sys

import typer

from gitflow_uet import __version__

# (module, command name, one-line help). Order is the order of `git uet --help`.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("init", "init", "Write .uet/config.yaml and the workstreams folder; exclude the worktrees folder."),
    ("plan", "plan", "Validate all workstream specs and print the DAG in waves with its critical path."),
    ("status", "status", "Every workstream with its state, branch, patch and last change."),
    ("log", "log", "The ledger's transitions, newest first (all, or one workstream's or patch's)."),
    ("show", "show", "Everything the ledger holds about one workstream or patch, logs included."),
    ("gate", "gate", "Run gates (default: integrate_gates) in this worktree; --hook runs a git hook's gates."),
    ("hooks", "hooks", "Install or uninstall the git hook shims that run hook_gates (pre-commit, pre-push)."),
    ("hook_run", "hook-run", "Run the gates of a git hook (called by the installed hook shims)."),
)

# Commands the hook shims call; kept out of `--help`.
HIDDEN = {"hook-run"}

app = typer.Typer(
    name="git uet",
    help="Run parallel workstreams against one repository; land them one by one, keep the target green.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"git-uet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Run parallel workstreams against one repository; land them one by one, keep the target green."""


for _module, _name, _help in COMMANDS:
    _cmd = importlib.import_module(f"gitflow_uet.cli.{_module}").command
    app.command(name=_name, help=_help, short_help=_help, hidden=_name in HIDDEN)(_cmd)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turn errors into one line and an exit code."""
    from gitflow_uet.cli.errors import run_guarded

    sys.exit(run_guarded(app, argv))
