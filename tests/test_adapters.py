from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from gitflow_uet.run.adapters import TaskResult, TaskRun, Usage, get_adapter
from gitflow_uet.run.adapters.agents import json_document
from gitflow_uet.errors import UsageError
from tests.helpers import wait_gone, with_growing_timeout


def task(worktree: Path, **fields: object) -> TaskRun:
    base: dict[str, object] = {"task_id": "t1", "tool": "shell", "run": None, "prompt": None,
                               "worktree": worktree, "timeout": 30.0}
    base.update(fields)
    return TaskRun(**base)  # type: ignore[arg-type]


def fake_tool(bin_dir: Path, name: str, script: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


# -- shell -----------------------------------------------------------------------------------


def test_shell_ok_runs_in_the_worktree(tmp_path: Path) -> None:
    result = get_adapter("shell", None).run(task(tmp_path, run="pwd; echo done > out.txt"))
    assert result.ok and result.exit == 0 and result.error is None
    assert result.text.strip().splitlines()[0] == str(tmp_path)
    assert (tmp_path / "out.txt").read_text() == "done\n"
    assert result.usage == Usage()


def test_shell_failure_keeps_exit_and_output(tmp_path: Path) -> None:
    result = get_adapter("shell", None).run(task(tmp_path, run="echo oops >&2; exit 3"))
    assert not result.ok
    assert result.exit == 3
    assert b"oops" in result.output
    assert result.error == "exit 3"


def test_shell_timeout_leaves_no_process(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    # The pid is written aside and renamed into place: whole, or not there at all.
    command = "sleep 300 & echo $! > pid.tmp && mv pid.tmp child.pid; sleep 300"

    def attempt(timeout: float) -> TaskResult:
        pidfile.unlink(missing_ok=True)
        started = time.monotonic()
        result = get_adapter("shell", None).run(task(tmp_path, run=command, timeout=timeout))
        assert time.monotonic() - started < timeout + 60  # not the 300 s of its sleeps
        return result

    result = with_growing_timeout(attempt, lambda _: pidfile.exists())
    assert result.timed_out and not result.ok and result.exit is None
    assert "timed out" in (result.error or "")
    assert wait_gone(int(pidfile.read_text()))


def test_profile_timeout_caps_the_task_and_output_cap_applies(tmp_path: Path) -> None:
    profile = SimpleNamespace(timeout=1, max_output_bytes=100, env=[])
    result = get_adapter("shell", profile).run(task(tmp_path, run="sleep 300", timeout=60.0))
    assert result.timed_out
    # The cap on its own, with a timeout that a loaded machine cannot hit.
    profile = SimpleNamespace(timeout=60, max_output_bytes=100, env=[])
    result = get_adapter("shell", profile).run(task(tmp_path, run="head -c 5000 /dev/zero | tr '\\0' x"))
    assert result.ok and result.truncated and len(result.output) < 300


def test_shell_without_run_fails_cleanly(tmp_path: Path) -> None:
    result = get_adapter("shell", None).run(task(tmp_path))
    assert not result.ok and "no run command" in (result.error or "")


def test_env_is_base_plus_passthrough_plus_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UET_TEST_SECRET", "hidden")
    monkeypatch.setenv("UET_TEST_PASSED", "from-task")
    monkeypatch.setenv("UET_TEST_PROFILE", "from-profile")
    feedback = tmp_path / "feedback.log"
    profile = SimpleNamespace(env=["UET_TEST_PROFILE"], timeout=None, max_output_bytes=None)
    result = get_adapter("shell", profile).run(task(
        tmp_path, run="env", passthrough=["UET_TEST_PASSED"],
        env={"UET_WORKSTREAM": "ws-001"}, feedback_file=feedback))
    seen = dict(line.split("=", 1) for line in result.text.splitlines() if "=" in line)
    assert seen["UET_TEST_PASSED"] == "from-task"
    assert seen["UET_TEST_PROFILE"] == "from-profile"
    assert seen["UET_WORKSTREAM"] == "ws-001"
    assert seen["UET_FEEDBACK_FILE"] == str(feedback)
    assert "UET_TEST_SECRET" not in seen
    assert "GIT_AUTHOR_NAME" not in seen  # set by the hermetic fixture, not passed through
    assert "PATH" in seen


def test_unknown_tool_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="'cursor'"):
        get_adapter("cursor", None)


# -- agents ----------------------------------------------------------------------------------

FAKE_CLAUDE = """\
# Records its arguments, edits a file like an agent would, prints Claude Code's JSON.
printf '%s\\n' "$@" > "$UET_TEST_ARGS"
echo "edited by claude" > greeting.txt
echo "some log line on stderr" >&2
cat <<'EOF'
{"type": "result", "subtype": "success", "is_error": false, "result": "Done.",
 "total_cost_usd": 0.0123, "usage": {"input_tokens": 1500, "output_tokens": 250}}
EOF
"""


def test_fake_claude_edits_and_reports_usage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "claude", FAKE_CLAUDE)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    args_file = tmp_path / "args.txt"
    worktree = tmp_path / "wt"
    worktree.mkdir()
    feedback = tmp_path / "round1.log"
    result = get_adapter("claude", None).run(task(
        worktree, tool="claude", prompt="Add a greeting; don't break 'quotes' $HOME",
        env={"UET_TEST_ARGS": str(args_file)}, feedback_file=feedback, scope=["greeting.txt"]))
    assert result.ok, result.error
    assert (worktree / "greeting.txt").read_text() == "edited by claude\n"
    assert result.usage == Usage(tokens_in=1500, tokens_out=250, cost_usd=0.0123)
    args = args_file.read_text()
    # The prompt arrives as one argument, unexpanded, with the fix-round pointer.
    assert args.startswith("-p\nAdd a greeting; don't break 'quotes' $HOME\n")
    assert f"its output is in {feedback}" in args
    assert "Only change files matching: greeting.txt" in args
    assert args.rstrip().endswith("--output-format\njson")


def test_claude_reporting_an_error_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    report = '{"is_error": true, "subtype": "error_max_turns", "usage": {"input_tokens": 9}}'
    fake_tool(bin_dir, "claude", f"echo '{report}'\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = get_adapter("claude", None).run(task(tmp_path, tool="claude", prompt="x"))
    assert not result.ok and "error_max_turns" in (result.error or "")
    assert result.usage.tokens_in == 9


def test_missing_tool_is_a_clean_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = get_adapter("claude", None).run(task(tmp_path, tool="claude", prompt="do it"))
    assert not result.ok
    assert result.error == "tool 'claude' not found on PATH"
    assert result.exit is None


def test_aider_template_quotes_context_and_profile_command_overrides(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "aider", 'printf "<%s>\\n" "$@"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = get_adapter("aider", None).run(task(
        tmp_path, tool="aider", prompt="fix it", context_files=["src/a b.py", "-odd.py"]))
    assert result.ok, result.error
    assert result.text.startswith("<--yes-always>\n<--no-auto-commits>\n<--no-suggest-shell-commands>\n"
                                  "<--message>\n<fix it\n")
    assert "Read these files first: src/a b.py, -odd.py" in result.text
    assert result.text.endswith(">\n<src/a b.py>\n<./-odd.py>\n")
    assert result.usage == Usage()  # aider prints no JSON: unknown, not a crash

    profile = SimpleNamespace(command="cat {prompt_file}; echo {worktree} {unknown}", timeout=None,
                              max_output_bytes=None, env=[])
    result = get_adapter("codex", profile).run(task(tmp_path, tool="codex", prompt="from a file"))
    assert result.ok, result.error
    lines = result.text.splitlines()
    assert lines[0] == "from a file"
    assert lines[-1] == f"{tmp_path} {{unknown}}"
    assert not list(tmp_path.glob("prompt*"))  # the prompt file is not in the worktree


def test_json_document_is_lenient() -> None:
    assert json_document(b"") is None
    assert json_document(b"not json at all {") is None
    assert json_document(b"[1, 2]") is None
    assert json_document(b'warning: x\n{"usage": {"input_tokens": 3}}\n') == {"usage": {"input_tokens": 3}}
    assert Usage.from_report({"usage": {"input_tokens": "many"}, "total_cost_usd": "nan"}) == Usage()
    assert Usage.from_report(json.loads('{"cost_usd": 0.5}')) == Usage(cost_usd=0.5)


@pytest.mark.parametrize(("tool", "flags"), [
    ("claude", ["-p", "--permission-mode", "acceptEdits"]),  # -p alone cannot write files
    ("codex", ["exec", "--sandbox", "workspace-write"]),  # exec alone is read-only
    ("aider", ["--yes-always", "--no-suggest-shell-commands"]),  # yes to edits, no shell commands
])
def test_built_in_profiles_may_edit_the_worktree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 tool: str, flags: list[str]) -> None:
    # Issue 9.13: the default config's profile, as `git uet run` uses it.
    from gitflow_uet.spec.config import Config

    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, tool, 'printf "%s\\n" "$@"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    profile = Config(schema_version=1).tools.get(tool)
    result = get_adapter(tool, profile).run(task(tmp_path, tool=tool, prompt="edit"))
    args = result.text.splitlines()
    assert all(flag in args for flag in flags), args
    assert "--dangerously-skip-permissions" not in args and "danger-full-access" not in args
