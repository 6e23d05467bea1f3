"""Running user commands (gates, tasks, agent tools): the one place that starts them.

Each command is started by a supervisor: a small process of our own (`python -c ...
supervise()`), in a session of its own so that a signal to the caller's process group
does not reach it. The supervisor makes itself the subreaper of what it starts (Linux),
so everything the command starts stays its descendant even after a `setsid` or a double
fork, and puts the command in a cgroup v2 of its own where it may create one; it runs the command in a new process group with stdin closed, reads its output
(stdout and stderr merged, capped: first and last parts kept, the middle dropped and
said so) and, when the command exits, when its timeout passes (TERM, then KILL after a
grace) or when the caller goes away, kills the command's group and every descendant it
has seen (pid and start time, so a reused pid is spared) until none is left. It never
waits on the output pipe past that: a process that escaped (it cannot, short of another
daemon starting it) is not waited for.

The caller keeps a pipe to the supervisor's stdin open for as long as it wants the
command to run. The supervisor watches it: end of file, because the caller closed it to
cancel, returned on an interrupt, or died (even by kill -9), means kill everything now.
So a killed run takes its tasks and their children with it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

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


# Supervisors of the cancellable commands running now (tasks, not gates: a gate killed
# half-way would read as red), so that a cancelled run can stop them all.
_live: dict[int, subprocess.Popen[bytes]] = {}
_live_lock = threading.Lock()
_scope = threading.local()
# How long the caller waits for a supervisor beyond the command's timeout before it
# gives up on it (it only happens if the supervisor itself is stuck).
SUPERVISOR_SLACK_SECONDS = 60.0
POLL_SECONDS = 0.05


@contextmanager
def cancellable() -> Iterator[None]:
    """Commands this thread starts inside the block are stopped by `cancel_all`."""
    _scope.on = True
    try:
        yield
    finally:
        _scope.on = False


def cancel_all(wait: float = 30.0) -> int:
    """Kill every cancellable command still running, with everything it started, and wait
    (up to `wait` seconds) until they are gone; how many. Their `run` calls return as if
    the commands had been killed at a timeout."""
    with _live_lock:
        supervisors = list(_live.values())
    for sup in supervisors:
        _close(sup)  # end of file on its lifeline: the supervisor kills the command's tree
    deadline = time.monotonic() + wait
    for sup in supervisors:
        try:
            sup.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            sup.kill()
    while time.monotonic() < deadline:  # until every `run` has taken its result
        with _live_lock:
            if not set(_live) & {sup.pid for sup in supervisors}:
                break
        time.sleep(POLL_SECONDS)
    return len(supervisors)


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
    """Run `command` (a string goes through /bin/sh) and wait for it, within the limits.

    An interrupt (KeyboardInterrupt) while it runs kills the command and all it started
    before it propagates."""
    use_shell = isinstance(command, str) if shell is None else shell
    spec = {"command": command, "shell": use_shell, "cwd": str(cwd), "env": env, "timeout": timeout,
            "max_output": max_output}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="uet-run-") as tmp:
        folder = Path(tmp)
        spec["result"] = str(folder / "result")
        with open(folder / "stderr", "wb") as errors:
            sup = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _SUPERVISOR, *_supervisor_path()], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=errors, cwd=cwd, start_new_session=True)
        assert sup.stdin is not None
        tracked = getattr(_scope, "on", False)
        if tracked:
            with _live_lock:
                _live[sup.pid] = sup
        try:
            # The spec goes through the pipe, not argv: the environment may hold API keys.
            sup.stdin.write(json.dumps(spec).encode() + b"\n")
            sup.stdin.flush()
            limit = None if timeout is None else timeout + KILL_GRACE_SECONDS + SUPERVISOR_SLACK_SECONDS
            try:
                sup.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                pass
        except BrokenPipeError:
            pass  # the supervisor died at once: said below
        finally:
            # Returning for any reason (done, interrupted, failed) ends the command: the
            # supervisor sees its lifeline close and kills what is left, then we wait
            # for it, so nothing started here outlives this call.
            _close(sup)
            _reap(sup)
            if tracked:
                with _live_lock:
                    _live.pop(sup.pid, None)
        try:
            doc = json.loads((folder / "result").read_text())
            output = (folder / "result.out").read_bytes()
        except (OSError, ValueError):
            trouble = (folder / "stderr").read_bytes()[-2000:]
            return ProcessResult(None, b"the command's supervisor failed:\n" + trouble,
                                 time.monotonic() - started)
    return ProcessResult(doc["code"], output, time.monotonic() - started, doc["timed_out"], doc["truncated"])


def _close(sup: subprocess.Popen[bytes]) -> None:
    try:
        if sup.stdin is not None:
            sup.stdin.close()
    except (OSError, ValueError):
        pass


def _reap(sup: subprocess.Popen[bytes]) -> None:
    """Wait for a supervisor whose lifeline is closed; it kills its tree within the grace.
    A second interrupt while waiting does not leave it behind."""
    deadline = time.monotonic() + KILL_GRACE_SECONDS + 30
    while True:
        try:
            sup.wait(timeout=max(deadline - time.monotonic(), 0.1))
            return
        except subprocess.TimeoutExpired:
            sup.kill()
        except KeyboardInterrupt:
            continue


# Started without `site` (half its start-up time): it is given where our package and
# psutil live instead.
_SUPERVISOR = "import sys; sys.path[:0] = sys.argv[1:]; from gitflow_uet.process import supervise; supervise()"


def _supervisor_path() -> list[str]:
    import psutil

    return [str(Path(__file__).resolve().parent.parent), str(Path(psutil.__file__).resolve().parent.parent)]


# -- the supervisor (runs in its own process) -----------------------------------------------

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _die_with_parent() -> None:
    # Runs in the forked child before exec: if the supervisor itself is killed, so is the
    # command (its own children are left to the sweep, which then cannot run: kill -9 of
    # a supervisor is the one case this does not cover).
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _child_setup(subreaper: bool, cgroup: _Cgroup | None) -> Callable[[], None] | None:
    if not subreaper and cgroup is None:
        return None

    def setup() -> None:
        if cgroup is not None:
            cgroup.enter()
        if subreaper:
            _die_with_parent()

    return setup


class _Cgroup:
    """A cgroup v2 of the command's own, made under ours where we may (root, or a delegated
    subtree): every process the command starts is in it whatever it does, and
    `cgroup.kill` ends them all at once."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def make(cls) -> _Cgroup | None:
        if not sys.platform.startswith("linux"):
            return None
        try:
            with open("/proc/self/mounts") as mounts:
                mount = next(f[1] for f in (line.split() for line in mounts) if len(f) > 2 and f[2] == "cgroup2")
            with open("/proc/self/cgroup") as own:
                mine = next(line.rstrip("\n")[3:] for line in own if line.startswith("0::"))
            path = Path(mount) / mine.lstrip("/") / f"uet-{os.getpid()}"
            path.mkdir()
        except (OSError, StopIteration):
            return None
        return cls(path)

    def enter(self) -> None:
        """In the forked child, before exec: join the cgroup (best effort: the subreaper
        and the group sweep still hold what it would)."""
        try:
            with open(self.path / "cgroup.procs", "w") as procs:
                procs.write("0")
        except OSError:
            pass

    def pids(self) -> list[int]:
        try:
            return [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill(self) -> None:
        try:
            (self.path / "cgroup.kill").write_text("1")
        except OSError:  # a kernel before 5.14
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def remove(self) -> None:
        deadline = time.monotonic() + 5
        while True:
            try:
                self.path.rmdir()
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(POLL_SECONDS)


class _Tree:
    """Everything a command started: its cgroup where there is one, its process group, and
    every descendant seen (pid and start time), so that a process that left the group
    (setsid) is still found and a pid reused since is not mistaken for one of ours."""

    def __init__(self, root: int, cgroup: _Cgroup | None):
        import psutil

        self.me = psutil.Process()
        self.root = root
        self.cgroup = cgroup
        self.seen: dict[int, float] = {}

    def look(self) -> None:
        import psutil

        try:
            for child in self.me.children(recursive=True):
                try:
                    self.seen.setdefault(child.pid, child.create_time())
                except psutil.Error:
                    pass
        except psutil.Error:
            pass

    def signal(self, sig: signal.Signals) -> int:
        """Send `sig` to the group and to every process of the tree still there; how many
        of those are still running."""
        import psutil

        _kill_group(self.root, sig)
        alive = 0
        if self.cgroup is not None:
            members = self.cgroup.pids()
            if sig == signal.SIGKILL:
                self.cgroup.kill()
            else:
                for pid in members:
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
            alive += len(members)
        self.look()
        for pid, created in list(self.seen.items()):
            try:
                proc = psutil.Process(pid)
                if abs(proc.create_time() - created) > START_TOLERANCE or proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                proc.send_signal(sig)
                alive += 1
            except psutil.Error:
                continue
        return alive

    def reap(self) -> None:
        """Collect the zombies of the processes that became ours (we are their subreaper)."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return


def supervise() -> None:
    """The supervisor's main: read the spec on stdin, run the command, write the result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    subreaper = _prctl(PR_SET_CHILD_SUBREAPER, 1)
    cgroup = _Cgroup.make()
    try:
        _supervise(spec_from=sys.stdin.buffer, stop=stop, subreaper=subreaper, cgroup=cgroup)
    finally:
        if cgroup is not None:
            cgroup.remove()


def _supervise(spec_from: BinaryIO, stop: threading.Event, subreaper: bool, cgroup: _Cgroup | None) -> None:
    lifeline = spec_from
    spec = json.loads(lifeline.readline())
    result_path = Path(spec["result"])
    timeout = spec["timeout"]
    capture = _Capture(int(spec["max_output"]))
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        spec["command"], shell=spec["shell"], cwd=spec["cwd"], env=spec["env"], stdin=subprocess.DEVNULL,
        stdout=write_end, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=_child_setup(subreaper, cgroup))
    os.close(write_end)
    tree = _Tree(proc.pid, cgroup)
    started = time.monotonic()
    deadline = None if timeout is None else started + float(timeout)
    timed_out = killed = False
    open_fds = [read_end, lifeline.fileno()]
    next_look = 0.0
    while proc.poll() is None:
        wait = POLL_SECONDS * 2
        if deadline is not None:
            wait = min(wait, max(deadline - time.monotonic(), 0))
        ready, _, _ = select.select(open_fds, [], [], wait)
        if read_end in ready:
            chunk = os.read(read_end, 65536)
            if chunk:
                capture.feed(chunk)
            else:
                open_fds.remove(read_end)
        if lifeline.fileno() in ready and not os.read(lifeline.fileno(), 4096):
            killed = True  # the caller cancelled, returned or died
            break
        if stop.is_set():
            killed = True
            break
        if deadline is not None and time.monotonic() >= deadline:
            timed_out = True
            break
        if time.monotonic() >= next_look:
            tree.look()  # where there is no subreaper, this is how an escapee is known
            next_look = time.monotonic() + 0.2
    if timed_out or killed:
        tree.signal(signal.SIGTERM)
        grace = time.monotonic() + KILL_GRACE_SECONDS
        while proc.poll() is None and time.monotonic() < grace:
            _drain(read_end, capture, open_fds, POLL_SECONDS)
    code = None if (timed_out or killed) else proc.returncode
    # Whatever the command left behind dies with it, setsid or not; this also closes the
    # pipe those leftovers held open.
    sweep = time.monotonic() + 10
    while True:
        alive = tree.signal(signal.SIGKILL)
        if proc.poll() is None:
            proc.wait()
        tree.reap()
        _drain(read_end, capture, open_fds, 0)
        if not alive or time.monotonic() > sweep:
            break
        time.sleep(POLL_SECONDS)
    # Whatever is still in the pipe, without waiting for a writer that may never close it.
    end = time.monotonic() + 0.5
    while read_end in open_fds and time.monotonic() < end:
        _drain(read_end, capture, open_fds, POLL_SECONDS)
    output, truncated = capture.value()
    Path(str(result_path) + ".out").write_bytes(output)
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"code": code, "timed_out": timed_out, "truncated": truncated}))
    os.replace(tmp, result_path)


def _drain(fd: int, capture: _Capture, open_fds: list[int], wait: float) -> None:
    if fd not in open_fds:
        time.sleep(wait)
        return
    ready, _, _ = select.select([fd], [], [], wait)
    if ready:
        chunk = os.read(fd, 65536)
        if chunk:
            capture.feed(chunk)
        else:
            open_fds.remove(fd)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
