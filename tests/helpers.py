"""Repository builders, CLI drivers and process probes shared by the tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

import yaml

T = TypeVar("T")
R = TypeVar("R")


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None, *, uet: bool = True) -> Path:
    """A repository on `main` with one commit holding `files` (and `git uet init` done)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "hello\n"}).items():
        write(path / name, text)
    if uet:
        from gitflow_uet.spec.bootstrap import initialize
        from gitflow_uet.project import Project

        with Project.open(path) as project:
            initialize(project)
        write(path / ".uet" / "config.yaml", "schema_version: 1\ngates: {}\nintegrate_gates: []\n"
              "hook_gates: {pre-commit: [], pre-push: []}\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_spec(repo: Path, ws_id: str, **fields: object) -> Path:
    doc = {"id": ws_id, "title": fields.pop("title", f"Workstream {ws_id}"), **fields}
    return write(repo / "workstreams" / f"{ws_id}.yaml", yaml.safe_dump(doc, sort_keys=False))


def uet(cwd: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess: exit codes and stderr exactly as a user sees them."""
    import os

    return subprocess.run([sys.executable, "-m", "gitflow_uet", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def wait_until(predicate: Callable[[], T], timeout: float = 60.0, what: str = "") -> T:
    """Poll `predicate` until it returns something truthy, and return that. The deadline is
    generous on purpose: a loaded machine is slow, not broken; past it the test fails, naming
    `what` it waited for."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g}s in vain for {what or predicate}")
        time.sleep(0.05)


def process_state(pid: int) -> str | None:
    """The state letter of `pid` (`R`, `S`, `Z`, ...) from /proc, None when there is no such
    process. Without a readable /proc nothing can be told, and the test fails saying so
    rather than pass for want of evidence."""
    if not os.access("/proc/self/stat", os.R_OK):
        raise AssertionError("/proc is not readable here: cannot tell whether a process runs")
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    """Whether `pid` still runs. A zombie counts as gone: it runs nothing, and in a container
    whose init does not reap, an orphan's zombie can linger after it was killed."""
    return process_state(pid) not in (None, "Z")


def group_alive(pgid: int) -> list[int]:
    """The processes of process group `pgid` that still run (zombies left out)."""
    assert process_state(os.getpid()) is not None  # /proc readable, and it sees us
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def wait_gone(pid: int, seconds: float = 60.0) -> bool:
    """Whether `pid` is gone within `seconds` (a killed process takes a moment to die)."""
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def pid_in(pidfile: Path) -> int | None:
    """The pid a command wrote to `pidfile` (`echo $! > pidfile`), once the line is whole."""
    try:
        text = pidfile.read_text()
    except FileNotFoundError:
        return None
    return int(text) if text.endswith("\n") else None


def with_growing_timeout(attempt: Callable[[float], R], ready: Callable[[R], object]) -> R:
    """`attempt(timeout)` for a test of what a timeout stops, whose command must first get
    somewhere (start a child, write its pid, print) for the test to prove anything, which
    `ready(result)` tells. On a loaded machine a short timeout can fire before that: each
    retry gives it longer, so the test stays quick when the machine is and never passes or
    fails for want of time."""
    for timeout in (1.0, 4.0, 15.0, 45.0):
        result = attempt(timeout)
        if ready(result):
            return result
    raise AssertionError("the command never got far enough before its timeout, even after 45s")


def aged(path: Path, seconds: float) -> Path:
    """`path` with its modification time `seconds` in the past."""
    old = time.time() - seconds
    os.utime(path, (old, old))
    return path


def stale_lock_age(text: str, lock: Path) -> int:
    """The age in seconds that `text` gives for stale lock `lock`. Tests check a range, never
    the second: the tool reads its clock whenever it gets to."""
    found = re.search(rf"stale lock {re.escape(str(lock))} \(age (\d+)s\)", text)
    assert found, f"no 'stale lock {lock} (age Ns)' in {text!r}"
    return int(found.group(1))
