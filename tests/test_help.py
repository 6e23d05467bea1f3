"""Issue 9.1: `git uet --help` (git's route to `man git-uet`), `-h`, `git uet help [CMD]`."""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import uet, write

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "man" / "git-uet.1"


def visible_commands() -> list[str]:
    from gitflow_uet.cli import COMMANDS, HIDDEN

    return [name for _, name, _ in COMMANDS if name not in HIDDEN]


def test_the_manual_page_is_generated_from_the_cli() -> None:
    from gitflow_uet.cli import _app
    from gitflow_uet.cli.manpage import render

    assert PAGE.read_text(encoding="utf-8") == render(_app()), \
        "man/git-uet.1 is stale: run `python -m gitflow_uet.cli.manpage`"


def test_the_manual_page_documents_every_command_and_option() -> None:
    import typer.main

    from gitflow_uet.cli import _app

    page = PAGE.read_text(encoding="utf-8")
    group = typer.main.get_command(_app())
    for name in visible_commands():
        assert f"\\fBgit uet {name}\\fR" in page, name
        command = group.commands[name]  # type: ignore[attr-defined]
        for param in command.params:
            for opt in param.opts if param.param_type_name == "option" else []:
                assert opt.replace("-", "\\-") in page, (name, opt)


def test_the_package_installs_the_page_where_man_looks() -> None:
    # man-db searches <dir>/../share/man for every <dir> on PATH: a venv's or pipx's bin/.
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    assert data_files["share/man/man1"] == ["man/git-uet.1"]
    installed = Path(sys.prefix) / "share" / "man" / "man1" / "git-uet.1"
    if installed.exists():  # a non-editable install of this checkout: the same page
        assert installed.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")


def install_layout(prefix: Path) -> dict[str, str]:
    """What `pip install` (venv or pipx) lays out: bin/git-uet and share/man/man1/git-uet.1;
    the environment a user has with that bin/ on PATH."""
    write(prefix / "bin" / "git-uet", f'#!/bin/sh\nexec "{sys.executable}" -m gitflow_uet "$@"\n').chmod(0o755)
    (prefix / "share" / "man" / "man1").mkdir(parents=True)
    shutil.copy(PAGE, prefix / "share" / "man" / "man1" / "git-uet.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAN")}
    system = [d for d in ("/usr/local/bin", "/usr/bin", "/bin") if Path(d).is_dir()]
    # MANPAGER=cat: man writes the formatted page to stdout instead of opening a pager.
    return {**env, "PATH": os.pathsep.join([str(prefix / "bin"), *system]), "MANPAGER": "cat",
            "PAGER": "cat", "MANWIDTH": "100", "LC_ALL": "C"}


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed: `git uet --help` needs `man`")
def test_git_uet_help_opens_the_installed_manual_page(tmp_path: Path) -> None:
    import subprocess

    env = install_layout(tmp_path / "venv")
    found = subprocess.run(["man", "-w", "git-uet"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert found.stdout.strip() == str(tmp_path / "venv" / "share" / "man" / "man1" / "git-uet.1"), found.stderr
    if shutil.which("nroff") is None:
        pytest.skip("man found the page, but groff (nroff) is not installed to format it")
    done = subprocess.run(["git", "uet", "--help"], env=env, capture_output=True, text=True, cwd=tmp_path,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "GIT-UET(1)" in done.stdout and "EXIT STATUS" in done.stdout
    for name in visible_commands():
        assert f"git uet {name}" in done.stdout, name


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["help"]])
def test_top_level_help(tmp_path: Path, args: list[str]) -> None:
    done = uet(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: git uet [OPTIONS] COMMAND [ARGS]...")
    for name in visible_commands():
        assert f"  {name} " in done.stdout, name


@pytest.mark.parametrize("name", visible_commands())
def test_every_command_takes_h_and_help_names_it(tmp_path: Path, name: str) -> None:
    short = uet(tmp_path, name, "-h")
    assert short.returncode == 0, short.stderr
    assert short.stdout.startswith(f"Usage: git uet {name} ")
    assert uet(tmp_path, "help", name).stdout == short.stdout


def test_help_for_an_unknown_command_is_exit_2(tmp_path: Path) -> None:
    done = uet(tmp_path, "help", "nosuch")
    assert done.returncode == 2 and done.stderr.strip() == "git uet: unknown command 'nosuch' (git uet help lists them)"
