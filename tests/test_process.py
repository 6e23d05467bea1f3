"""process.run: the one place user commands start; nothing may outlive its timeout."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gitflow_uet import process
from tests.helpers import pid_in, process_state, wait_gone, wait_until, with_growing_timeout


def run(command: str | list[str], cwd: Path, **kw: object) -> process.ProcessResult:
    kw.setdefault("env", process.base_env())
    kw.setdefault("timeout", 30)
    return process.run(command, cwd=cwd, **kw)  # type: ignore[arg-type]


def test_exit_codes_and_output(tmp_path: Path) -> None:
    ok = run("echo out; echo err >&2", tmp_path)
    assert ok.code == 0 and ok.ok and not ok.timed_out and not ok.truncated
    assert b"out\n" in ok.output and b"err\n" in ok.output
    red = run("exit 7", tmp_path)
    assert red.code == 7 and not red.ok and red.summary() == "exit 7"
    argv = run(["sh", "-c", "exit 3"], tmp_path)
    assert argv.code == 3


def test_runs_in_cwd(tmp_path: Path) -> None:
    done = run("pwd", tmp_path)
    assert Path(done.text.strip()).resolve() == tmp_path.resolve()


def test_hanging_command_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    pidfile = tmp_path / "pidfile"

    def attempt(timeout: float) -> process.ProcessResult:
        pidfile.unlink(missing_ok=True)
        started = time.monotonic()
        # The pid is written aside and renamed into place: whole, or not there at all.
        done = run("sleep 300 & echo $! > pid.tmp && mv pid.tmp pidfile; sleep 300", tmp_path, timeout=timeout)
        assert time.monotonic() - started < timeout + 60  # not the 300 s of its sleeps
        return done

    done = with_growing_timeout(attempt, lambda _: pidfile.exists())
    assert done.timed_out and done.code is None and not done.ok
    assert done.summary().startswith("timed out")
    child = int(pidfile.read_text())
    assert wait_gone(child), f"background child {child} outlived the timeout"


def test_leftover_background_process_dies_when_command_exits(tmp_path: Path) -> None:
    pidfile = tmp_path / "pidfile"
    done = run("sleep 300 >/dev/null 2>&1 & echo $! > pidfile; exit 0", tmp_path, timeout=60)
    assert done.code == 0 and not done.timed_out
    assert wait_gone(int(pidfile.read_text()))


def test_endless_output_is_capped_and_killed(tmp_path: Path) -> None:
    # `yes` must get to print before the timeout fires for the cap to show.
    done = with_growing_timeout(lambda timeout: run("yes", tmp_path, timeout=timeout, max_output=1000),
                                lambda done: done.truncated)
    assert done.timed_out and done.code is None
    assert done.truncated
    assert b"bytes of output dropped" in done.output
    assert len(done.output) < 1200
    assert done.output.startswith(b"y\ny\n")


def test_output_under_the_cap_is_whole(tmp_path: Path) -> None:
    done = run("printf 'a%.0s' $(seq 1 500)", tmp_path, max_output=1000)
    assert done.output == b"a" * 500 and not done.truncated


def test_stdin_is_closed(tmp_path: Path) -> None:
    # With stdin open, cat would wait for input until the timeout.
    done = run("cat", tmp_path, timeout=60)
    assert done.code == 0 and not done.timed_out and done.output == b""


def test_environment_is_clean(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("UET_TEST_SECRET", "s3cret")
    plain = run("env", tmp_path, env=process.base_env())
    assert b"UET_TEST_SECRET" not in plain.output
    assert b"PATH=" in plain.output
    passed = run("env", tmp_path, env=process.base_env(passthrough=["UET_TEST_SECRET"], extra={"EXTRA": "1"}))
    assert b"UET_TEST_SECRET=s3cret" in passed.output and b"EXTRA=1" in passed.output


def test_a_zombie_or_a_reused_pid_is_not_a_running_process(tmp_path: Path) -> None:
    """kill(pid, 0) succeeds on a zombie; a pid may be reused: neither is the process."""
    import signal
    import subprocess

    me = process.start_time(os.getpid())
    assert me is not None and process.running_here(process.HOST, os.getpid(), me) is True
    assert process.running_here(process.HOST, os.getpid(), me - 3600) is False  # same pid, other process
    assert process.running_here("elsewhere.example", os.getpid()) is None
    child = subprocess.Popen(["sleep", "300"])
    try:
        assert process.running_here(process.HOST, child.pid, process.start_time(child.pid)) is True
        os.kill(child.pid, signal.SIGKILL)
        # Not reaped yet: a zombie, which kill(pid, 0) still finds.
        wait_until(lambda: process_state(child.pid) == "Z", what=f"{child.pid} to be a zombie")
        os.kill(child.pid, 0)
        assert process.running_here(process.HOST, child.pid) is False
    finally:
        child.wait()
    assert process.running_here(process.HOST, child.pid) is False


def test_a_child_that_left_the_group_with_setsid_dies_with_the_command(tmp_path: Path) -> None:
    """setsid puts a child out of the command's process group: it must die all the same,
    when the command exits and when it times out."""
    done = run("setsid sleep 600 >/dev/null 2>&1 & echo $! > exited; exit 0", tmp_path)
    assert done.code == 0
    # The pid renamed into place, and a longer timeout until the command got that far.
    timed = with_growing_timeout(
        lambda timeout: run("setsid sleep 600 >/dev/null 2>&1 & echo $! > t.tmp && mv t.tmp timed; sleep 300",
                            tmp_path, timeout=timeout),
        lambda _: (tmp_path / "timed").exists())
    assert timed.timed_out
    for name in ("exited", "timed"):
        pid = int((tmp_path / name).read_text())
        assert wait_gone(pid, 30), f"the setsid child {pid} ({name}) outlived its command"


def test_a_double_forked_daemon_dies_with_the_command(tmp_path: Path) -> None:
    done = run("sh -c 'sleep 600 >/dev/null 2>&1 & echo $! > daemon' & wait; exit 0", tmp_path)
    assert done.code == 0
    assert wait_gone(int((tmp_path / "daemon").read_text()), 30)


def test_a_child_holding_the_output_pipe_does_not_hold_the_caller(tmp_path: Path) -> None:
    """The command exits; a setsid child still holds stdout open. The caller gets the
    output written so far, and the child is gone: nothing waits on the pipe."""
    # The command exits only once its child is in a session of its own, holding stdout.
    done = run("echo before; setsid sh -c 'echo $$ > holder.tmp; mv holder.tmp holder; exec sleep 600' & "
               "while [ ! -e holder ]; do sleep 0.05; done; echo after; exit 3", tmp_path, timeout=600)
    assert done.code == 3 and not done.timed_out
    assert b"before" in done.output and b"after" in done.output
    assert wait_gone(int((tmp_path / "holder").read_text()), 30)


def test_closing_the_lifeline_kills_the_command_and_its_children(tmp_path: Path) -> None:
    """What a dead caller looks like to a supervisor: cancel_all closes every lifeline,
    and the commands (a grandchild included) are gone when it returns."""
    import threading

    results: list[process.ProcessResult] = []

    def task() -> None:
        with process.cancellable():
            results.append(run("sleep 600 & echo $! > grandchild; echo $$ > child; wait", tmp_path, timeout=600))

    worker = threading.Thread(target=task)
    worker.start()
    wait_until(lambda: all(pid_in(tmp_path / n) for n in ("child", "grandchild")), what="both to start")
    assert process.cancel_all() == 1
    worker.join(60)
    assert not worker.is_alive() and results and results[0].code is None
    for name in ("child", "grandchild"):
        assert wait_gone(int((tmp_path / name).read_text()), 30)


def test_commands_run_in_a_cgroup_of_their_own_where_one_can_be_made(tmp_path: Path) -> None:
    probe = process._Cgroup.make()
    if probe is None:
        import pytest

        pytest.skip("no cgroup v2 this process may create children in")
    probe.remove()
    done = run("cat /proc/self/cgroup; setsid sleep 600 & echo $! > pid", tmp_path)
    line = next(x for x in done.text.splitlines() if x.startswith("0::"))
    assert "/uet-" in line
    assert wait_gone(int((tmp_path / "pid").read_text()), 30)
    assert not (Path(probe.path).parent / line.rsplit("/", 1)[1]).exists()  # removed after
