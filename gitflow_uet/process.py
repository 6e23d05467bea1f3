"""Running user commands (gates, tasks, agent tools): the one place that starts them.

Each command runs in its own process group with stdin closed; past its timeout the whole
group is killed (TERM, then KILL), and once the command exits anything it left running in
its group is killed too, so nothing outlives it. Output (stdout and stderr merged) is
capped: the first and last parts are kept, the middle is dropped and said so.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import Iterator, cast

DEFAULT_MAX_OUTPUT = 1_000_000
# Grace between TERM and KILL for a timed-out group.
KILL_GRACE_SECONDS = 2.0
# Two readings of one process's start time differ by rounding only; a reused pid's by far more.
START_TOLERANCE = 1.0
# Variables a command sees by default; everything else must be passed through explicitly.
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TERM",
            "TMPDIR", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR")


@dataclass
class ProcessResult:
    code: int | None          # None when killed at the timeout
    output: bytes             # capped, stdout and stderr interleaved
    seconds: float
    timed_out: bool = False
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.code == 0 and not self.timed_out

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def summary(self) -> str:
        if self.timed_out:
            return f"timed out after {self.seconds:.0f}s"
        return f"exit {self.code}" if self.code else "ok"


HOST = socket.gethostname()


def start_time(pid: int) -> float | None:
    """When process `pid` of this machine started (seconds since the epoch, as psutil
    reads it from the kernel), or None when there is no such process. With the pid it
    names one process for good: a pid reused by a later process has another start time."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


MY_START = start_time(os.getpid())


def running_here(host: str, pid: int, started: float | None = None) -> bool | None:
    """Whether process `pid` of machine `host`, started at `started` (when known), still
    runs; None when this machine cannot tell (another host). A zombie runs nothing (a
    killed process whose parent has not reaped it yet), and a pid now held by a process
    with another start time is a reused pid: both are dead. The one check used to declare
    leases and workers dead without waiting for them to expire."""
    if host != HOST:
        return None
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if started is not None and abs(proc.create_time() - started) > START_TOLERANCE:
            return False
    except psutil.NoSuchProcess:  # includes ZombieProcess
        return False
    except psutil.AccessDenied:
        pass  # exists, owned by someone else
    return True


# Process groups of the cancellable commands running now (tasks, not gates: a gate killed
# half-way would read as red), so that a cancelled run can stop them all.
_live: set[int] = set()
_live_lock = threading.Lock()
_scope = threading.local()


@contextmanager
def cancellable() -> Iterator[None]:
    """Commands this thread starts inside the block are stopped by `cancel_all`."""
    _scope.on = True
    try:
        yield
    finally:
        _scope.on = False


def cancel_all() -> int:
    """Kill every cancellable command still running (its whole group); how many. Their
    `run` calls return as if the commands had been killed at a timeout."""
    with _live_lock:
        groups = list(_live)
    for pgid in groups:
        _kill_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + KILL_GRACE_SECONDS
    while time.monotonic() < deadline:
        with _live_lock:
            if not _live & set(groups):
                break
        time.sleep(0.05)
    for pgid in groups:
        _kill_group(pgid, signal.SIGKILL)
    return len(groups)


def base_env(passthrough: list[str] | tuple[str, ...] = (), extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: the basics, the named variables that exist, then `extra`."""
    env = {k: os.environ[k] for k in (*BASE_ENV, *passthrough) if k in os.environ}
    env.update(extra or {})
    return env


class _Capture:
    """Keeps the first and last `limit/2` bytes of a stream, counting what it drops."""

    def __init__(self, limit: int):
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            over = len(self.tail) - self.half
            if over > 0:
                del self.tail[:over]
                self.dropped += over

    def value(self) -> tuple[bytes, bool]:
        if not self.dropped:
            return bytes(self.head + self.tail), False
        marker = f"\n[... {self.dropped} bytes of output dropped ...]\n".encode()
        return bytes(self.head) + marker + bytes(self.tail), True


def run(
    command: str | list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float | None,
    max_output: int = DEFAULT_MAX_OUTPUT,
    shell: bool | None = None,
) -> ProcessResult:
    """Run `command` (a string goes through /bin/sh) and wait for it, within the limits."""
    use_shell = isinstance(command, str) if shell is None else shell
    started = time.monotonic()
    proc = subprocess.Popen(
        command, shell=use_shell, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    tracked = getattr(_scope, "on", False)
    if tracked:
        with _live_lock:
            _live.add(proc.pid)
    capture = _Capture(max_output)
    assert proc.stdout is not None
    stdout = cast(BufferedReader, proc.stdout)  # a pipe opened in binary mode: buffered

    def pump() -> None:
        for chunk in iter(lambda: stdout.read1(65536), b""):
            capture.feed(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        code: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        code = None
    finally:
        # Whatever the command started in its group and left behind dies with it; this
        # also closes the pipe those leftovers held open.
        _kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
        if tracked:
            with _live_lock:
                _live.discard(proc.pid)
    reader.join(timeout=5)
    stdout.close()
    output, truncated = capture.value()
    return ProcessResult(code, output, time.monotonic() - started, timed_out, truncated)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
