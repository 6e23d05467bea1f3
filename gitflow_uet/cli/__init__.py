"""The `git uet` command line: parse, call the core, render. Nothing else lives here.

Each command is one module in this package exposing `command`. Modules import only typer
(and rich) at module level; the core is imported inside the command so that a command
pays only for what it uses.

The `--json` reads (`status`, `log`, `show`) that scripts and agents run in loops skip
typer altogether when their arguments are plain (see `_json_read`): importing typer, and
the pydantic it pulls in to convert parameters, costs more than reading a 10,000-entry
ledger. So this module imports no typer itself; `app` is built on first use.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from gitflow_uet import __version__

if TYPE_CHECKING:
    import typer

    app: typer.Typer

# (module, command name, one-line help). Order is the order of `git uet --help`: a
# user's path (set up, plan, run, read), then work by hand, then upkeep.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("init", "init", "Write .uet/config.yaml and the workstreams folder; exclude the worktrees folder."),
    ("plan", "plan", "Validate all workstream specs and print the DAG in waves with its critical path."),
    ("run", "run", "Run workstreams with a pool of workers; integrate each result as it arrives."),
    ("status", "status", "Every workstream with its state, branch, patch and last change."),
    ("log", "log", "The ledger's transitions, newest first (all, or one workstream's or patch's)."),
    ("show", "show", "Everything the ledger holds about one workstream or patch, logs included."),
    ("report", "report", "What the last run (or a named one) did: times, waits, speedup; --html for a page."),
    ("start", "start", "Give a workstream its branch and worktree; print the worktree's path."),
    ("submit", "submit", "Commit a workstream's worktree, check its patch and queue it (or quarantine it)."),
    ("refresh", "refresh", "Rebase a running workstream onto the current target; conflicts by path (exit 1)."),
    ("integrate", "integrate", "Land queued patches one by one: build, gate, move the target or quarantine."),
    ("rollback", "rollback", "Revert an integrated workstream on the target (gated); --cascade for its dependents."),
    ("reset", "reset", "Put a failed, quarantined, blocked or rolled-back workstream back to planned."),
    ("abandon", "abandon", "Drop a running workstream back to planned; its work is saved under refs/uet-saved/."),
    ("gate", "gate", "Run gates (default: integrate_gates) in this worktree; --hook runs a git hook's gates."),
    ("hooks", "hooks", "Install or uninstall the git hook shims that run hook_gates (pre-commit, pre-push)."),
    ("fsck", "fsck", "Check that ledger, target, branches, worktrees and locks agree; --repair fixes what it safely can."),
    ("demo", "demo", "Build a small project in a temporary folder and run eight workstreams on it, end to end."),
    ("help", "help", "Show the help of git uet or of one command (git uet --help opens the manual page)."),
    ("hook_run", "hook-run", "Run the gates of a git hook (called by the installed hook shims)."),
)

# Commands the hook shims call; kept out of `--help`.
HIDDEN = {"hook-run"}


def _build_app() -> typer.Typer:
    import typer

    app = typer.Typer(
        name="git uet",
        help="Run parallel workstreams against one repository; land them one by one, keep the target green.",
        no_args_is_help=True,
        add_completion=False,
        # `-h` on every command: subcommands inherit the root context's help options.
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    def _version(value: bool) -> None:
        if value:
            typer.echo(f"git-uet {__version__}")
            raise typer.Exit()

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Print the version and exit."),
    ) -> None:
        """Run parallel workstreams against one repository; land them one by one, keep the target green."""

    for module, name, help_ in COMMANDS:
        cmd = importlib.import_module(f"gitflow_uet.cli.{module}").command
        app.command(name=name, help=help_, short_help=help_, hidden=name in HIDDEN)(cmd)
    return app


def _app() -> typer.Typer:
    built = globals().get("app")
    if built is None:
        built = globals()["app"] = _build_app()
    return built


def __getattr__(name: str) -> Any:
    if name == "app":  # `from gitflow_uet.cli import app` builds it
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turn errors into one line and an exit code."""
    read = _json_read(sys.argv[1:] if argv is None else list(argv))
    if read is not None:
        sys.exit(_run_json_read(*read))
    from gitflow_uet.cli.errors import run_guarded

    sys.exit(run_guarded(_app(), argv))


def _json_read(args: list[str]) -> tuple[str, str | None, int | None] | None:
    """(command, item, limit) when `args` are exactly a `--json` read with plain arguments:
    `status --json`, `log [ITEM] [-n N | --limit N | --limit=N] --json`, `show ITEM --json`.
    Anything else (None) goes to typer, which parses, helps and reports errors as usual."""
    if not args or "--json" not in args[1:]:
        return None
    command, rest = args[0], [a for a in args[1:] if a != "--json"]
    if len(rest) != len(args) - 2:  # --json given twice: typer's business
        return None
    if command == "status" and not rest:
        return command, None, None
    if command == "show" and len(rest) == 1 and not rest[0].startswith("-"):
        return command, rest[0], None
    if command != "log":
        return None
    item: str | None = None
    limit: int | None = None
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("-n", "--limit") and i + 1 < len(rest) and limit is None:
            value, i = rest[i + 1], i + 2
        elif arg.startswith("--limit=") and limit is None:
            value, i = arg[len("--limit="):], i + 1
        elif not arg.startswith("-") and item is None:
            item, i = arg, i + 1
            continue
        else:
            return None
        if not (value.isascii() and value.isdigit()):
            return None
        limit = int(value)
    return command, item, limit


def _run_json_read(command: str, item: str | None, limit: int | None) -> int:
    """Print the document the command module prints for `--json`; errors as
    `cli.errors.run_guarded` reports them (imported only on the way out: it needs typer)."""
    from gitflow_uet.views import status as views
    from gitflow_uet.cli.render import emit_json, warn_specs
    from gitflow_uet.errors import UetError
    from gitflow_uet.project import Project

    try:
        with Project.open() as project:
            if command == "status":
                emit_json(views.status(project))
            elif command == "show":
                assert item is not None
                emit_json(views.show(project, item))
            else:
                emit_json({"entries": views.log(project, item, limit)})
            warn_specs(project)
    except UetError as err:
        from gitflow_uet.cli.errors import report_error

        return report_error(err)
    except KeyboardInterrupt:
        print("git uet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception:  # noqa: BLE001 - a bug: the same report as the typer path writes
        import traceback

        from gitflow_uet.cli.errors import UNEXPECTED_EXIT, write_report

        where = write_report(traceback.format_exc())
        print(f"git uet: internal error (a bug); report written to {where}", file=sys.stderr)
        return UNEXPECTED_EXIT
    return 0
