"""Error handling at the edge: a UetError is one line on stderr and its exit code; anything
else is a bug, written up in a report under .git/uet/ (exit 3). Exit 3 always comes with a
report, whether the error was foreseen (a GitError nobody classified) or not."""

from __future__ import annotations

import datetime as _dt
import os
import sys
import traceback
from pathlib import Path

import typer

from gitflow_uet.errors import UetError

UNEXPECTED_EXIT = 3
# typer (>= 0.29) carries its own copy of click and does not install click itself: its
# public exceptions are the ones to catch. TyperException is the root of its usage errors.
_EXIT = typer.Exit
_ABORT = typer.Abort
_PARSER = typer.TyperException


def run_guarded(app: typer.Typer, argv: list[str] | None) -> int:
    try:
        # Without standalone mode, click hands back the code of a `typer.Exit(n)` as the
        # return value instead of raising it.
        code = app(args=argv, prog_name="git uet", standalone_mode=False)
    except UetError as err:
        return report_error(err)
    except _EXIT as ex:
        return int(getattr(ex, "exit_code", 0) or 0)
    except _ABORT:
        _say("git uet: aborted")
        return 130
    except _PARSER as err:
        # The parser's own usage errors (bad option, missing argument): its message and
        # the usage line, exit 2.
        if hasattr(err, "show"):
            err.show()
        else:
            _say(f"git uet: {err}")
        return 2
    except KeyboardInterrupt:
        _say("git uet: interrupted")
        return 130
    except BrokenPipeError:
        return 1
    except Exception:  # noqa: BLE001 - the one place that catches everything
        where = write_report(traceback.format_exc())
        _say(f"git uet: internal error (a bug); report written to {where}")
        return UNEXPECTED_EXIT
    return code if isinstance(code, int) else 0


def report_error(err: UetError) -> int:
    """Say a UetError; one with exit 3 is also written up, with its traceback."""
    _say(f"git uet: {err}")
    if err.exit_code == UNEXPECTED_EXIT:
        where = write_report(traceback.format_exc())
        _say(f"git uet: internal error; report written to {where}")
    return err.exit_code


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def write_report(text: str) -> Path:
    """Write a crash report under the repository's .git/uet/ (or the temp dir outside one)."""
    from gitflow_uet.git import Repo

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    try:
        folder = Repo.discover(Path.cwd()).uet_dir / "reports"
    except Exception:  # noqa: BLE001 - not in a repository; still keep the report
        import tempfile

        folder = Path(tempfile.gettempdir()) / "git-uet-reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crash-{stamp}-{os.getpid()}.txt"
    path.write_text(f"git-uet crash report\nargv: {sys.argv}\n\n{text}")
    return path
