"""Exit 2 for environment problems (the cause and the fix named, no report), exit 3 always
with a report written and its place said."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from gitflow_uet.cli.errors import run_guarded
from gitflow_uet.errors import GitError
from tests.helpers import git, uet, write_spec
from tests.integration_helpers import make_project, queue_patch


def _reports(repo: Path) -> list[Path]:
    folder = repo / ".git" / "uet" / "reports"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_foreign_ref_blocking_refs_uet_is_exit_2_naming_it_and_the_fix(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    write_spec(repo, "w")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "spec")
    git(repo, "update-ref", "-d", "refs/uet")
    git(repo, "update-ref", "refs/uet/x", "HEAD")

    done = uet(repo, "start", "w")

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "refs/uet/x" in lines[0] and "git update-ref -d refs/uet/x" in lines[0]
    assert "Traceback" not in done.stderr and _reports(repo) == []


def test_a_path_git_refuses_to_check_out_is_exit_2_naming_the_path(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", gates={"unit": "true"})
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    # The target gains `.git./config` (landed before the path checks existed): git refuses
    # to write it into any checkout.
    blob = git(repo, "rev-parse", "main:README.md")
    sub = _mktree(repo, f"100644 blob {blob}\tconfig\n")
    listing = git(repo, "ls-tree", "main") + f"\n040000 tree {sub}\t.git.\n"
    tree = _mktree(repo, listing)
    commit = git(repo, "commit-tree", tree, "-p", "main", "-m", "bad path")
    git(repo, "update-ref", "refs/heads/main", commit)
    git(repo, "checkout", "-q", "--detach")  # the user's checkout is elsewhere

    done = uet(repo, "integrate")

    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert ".git./config" in last and "rename or remove" in last
    assert "Traceback" not in done.stderr and _reports(repo) == []


def _mktree(repo: Path, listing: str) -> str:
    import subprocess

    return subprocess.run(["git", "mktree"], cwd=repo, input=listing, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_exit_3_always_writes_its_report_and_says_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_project(tmp_path / "r")
    monkeypatch.chdir(repo)
    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise GitError("git frobnicate failed: something nobody foresaw")

    @app.command()
    def other() -> None:  # two commands, so typer dispatches by name
        pass

    code = run_guarded(app, ["boom"])

    assert code == 3
    err = capsys.readouterr().err
    reports = _reports(repo)
    assert len(reports) == 1 and str(reports[0]) in err
    assert "git frobnicate failed" in err and "Traceback" not in err
    text = reports[0].read_text()
    assert "GitError: git frobnicate failed" in text and "Traceback" in text
