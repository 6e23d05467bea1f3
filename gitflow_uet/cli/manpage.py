"""`man git-uet`, generated from the command tree itself, so it can never describe options
the CLI does not have. `git uet --help` is `git help uet`, which runs `man git-uet`.

`python -m gitflow_uet.cli.manpage` rewrites `man/git-uet.1`; the package installs it as
`share/man/man1/git-uet.1` (pyproject's data-files), where man-db finds it from the
`bin/` on PATH of a venv or pipx install. tests/test_help.py keeps the file current.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gitflow_uet import __version__

PAGE = Path("man") / "git-uet.1"

# Exit codes are the CLI's contract with scripts (errors.py, cli/errors.py).
EXIT_CODES = (
    ("0", "Success: everything asked for was done."),
    ("1", "The work failed: a task or gate was red, a patch was quarantined, a run did not integrate everything."),
    ("2", "Bad input or usage: an invalid spec or config, an unknown workstream, an illegal transition, "
          "a missing target branch. One line on stderr names the file, field or workstream."),
    ("3", "An unexpected error (a bug) or a git failure; a crash report is written under .git/uet/reports/."),
    ("130, 143", "Interrupted: Ctrl-C (130) or SIGTERM (143)."),
)

FILES = (
    (".uet/config.yaml", "The project's settings (see docs/config.md)."),
    ("workstreams/*.yaml", "Workstream specs (see docs/specs.md)."),
    ("refs/uet", "The ledger: one commit per state change; git log refs/uet reads it."),
    ("refs/notes/uet", "A note on every integrated commit: workstream, patch, gates."),
    (".git/uet/", "Rebuildable caches, heartbeats and crash reports; never state."),
)


def _escape(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    # A line starting with . or ' is a roff request.
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in text.splitlines())


def render(app: Any) -> str:
    """The roff source of git-uet(1) for `app` (the typer app)."""
    import typer
    import typer.core
    import typer.main

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    root = typer.Context(group, info_name="git uet", **group.context_settings)
    out = [
        f'.TH GIT\\-UET 1 "" "git\\-uet {_escape(__version__)}" "Git Manual"',
        ".SH NAME",
        f"git\\-uet \\- {_escape(group.help or '')}",
        ".SH SYNOPSIS",
        ".B git uet",
        ".I command",
        "[\\fIoptions\\fR] [\\fIarguments\\fR]",
        ".br",
        ".B git uet",
        "[\\fB\\-h\\fR | \\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR]",
        ".br",
        ".B git uet help",
        "[\\fIcommand\\fR]",
        ".SH DESCRIPTION",
        _escape("Each change is a workstream: a spec in the workstreams folder with tasks, a scope and "
                "dependencies. Every workstream gets its own branch and worktree; its result is a patch, "
                "checked and then landed on the target branch by a sequential integrator that runs the "
                "gates on exactly the commit it is about to land. A conflict or a red gate quarantines "
                "the workstream; the target stays green. All state lives in git, in the ledger refs/uet."),
        ".PP",
        _escape("Every command accepts -h and --help. The user guide is in the docs/ folder of the "
                "project's source repository."),
        ".SH COMMANDS",
    ]
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        if command is None or command.hidden:
            continue
        ctx = typer.Context(command, info_name=name, parent=root)
        usage = " ".join(command.collect_usage_pieces(ctx))
        out += [".TP", f"\\fBgit uet {_escape(name)}\\fR {_escape(usage)}", _escape(command.help or "")]
        records = [rec for param in command.get_params(ctx) if (rec := param.get_help_record(ctx))]
        if records:
            out.append(".RS")
            for term, text in records:
                out += [".TP", f"\\fB{_escape(term)}\\fR", _escape(text or "")]
            out.append(".RE")
    out.append(".SH EXIT STATUS")
    for code, text in EXIT_CODES:
        out += [".TP", f"\\fB{code}\\fR", _escape(text)]
    out.append(".SH FILES")
    for path, text in FILES:
        out += [".TP", f"\\fI{_escape(path)}\\fR", _escape(text)]
    out += [".SH SEE ALSO", "\\fBgit\\-worktree\\fR(1), \\fBgit\\-notes\\fR(1), \\fBgit\\-log\\fR(1)", ""]
    return "\n".join(out)


def main() -> None:
    from gitflow_uet.cli import _app

    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    (root / PAGE).parent.mkdir(parents=True, exist_ok=True)
    (root / PAGE).write_text(render(_app()), encoding="utf-8")


if __name__ == "__main__":
    main()
