"""The command line as a user meets it: documented, and bad usage is exit 2, never a crash."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    command = ci[-1]
    assert "python -m pytest" in command
    readme = (ROOT / "README.md").read_text().splitlines()
    assert command in readme, "the last line of .ci/run must be the README's test command, verbatim"


def test_readme_lists_every_command() -> None:
    from gitflow_uet.cli import COMMANDS, HIDDEN

    readme = (ROOT / "README.md").read_text()
    missing = [name for _, name, _ in COMMANDS if name not in HIDDEN and f"git uet {name}" not in readme]
    assert not missing, f"README.md does not document: {missing}"


def test_usage_errors_are_exit_2_without_a_crash_report(tmp_path: Path) -> None:
    from tests.helpers import make_repo, uet

    repo = make_repo(tmp_path / "repo")
    for args in (["log", "-n", "x"], ["nosuch"], ["show"], ["run", "--workers"]):
        done = uet(repo, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert not (repo / ".git" / "uet" / "reports").exists()
    assert uet(repo, "--version").stdout.startswith("git-uet ")
