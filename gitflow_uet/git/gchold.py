"""Keeping `git gc` away while we write objects that no ref holds yet.

Objects are written before the ref that makes them reachable moves (the ledger's trees and
commits, a merged candidate while its gates run). A `git gc --prune=now` in between deletes
them, and the ref then points into nothing. git's own defence is a grace period (only
objects older than `gc.pruneExpire` go), which `--prune=now` turns off, so we use the lock
git gc itself respects: `$GIT_COMMON_DIR/gc.pid`. git gc takes `gc.pid.lock`, reads
`gc.pid`, and refuses to start ("gc is already running on machine ... pid ...") while the
pid it names is alive on this host. So:

- A process of ours that writes takes the hold (`GcHold.acquire`): under `gc.pid.lock`
  (created exclusively, as git does) it waits for a running gc to finish, then writes its
  own pid and host to `gc.pid`. Until it releases, no `git gc` starts and none is running.
- Several processes of ours share the hold: each registers `uet/gc-hold/<pid>`; the one
  named in `gc.pid` hands it to another live holder on release instead of deleting it.
- A holder killed with -9 names a dead pid: git gc ignores such a `gc.pid` (so nothing is
  blocked for good) and so does the next holder.

`git prune` run by hand and `git gc --force` do not look at `gc.pid`; ARCHITECTURE.md says
what covers those (freshened objects and the check after each ref move).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

from gitflow_uet.errors import UetError

HOST = socket.gethostname()
# How long a write waits for a running `git gc` to finish before giving up.
WAIT_SECONDS = 600.0
# git gc ignores a gc.pid older than this; a long hold refreshes it.
_GIT_GC_PID_LIMIT = 12 * 3600
_REFRESH = 3600


class GcRunning(UetError):
    """A `git gc` kept running longer than we could wait for it."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class GcHold:
    """This process's share of the repository's `gc.pid` (counted: every Repo that writes
    acquires once and releases on close)."""

    def __init__(self, common_dir: Path):
        self.pid_file = common_dir / "gc.pid"
        self.lock_file = common_dir / "gc.pid.lock"
        self.holders = common_dir / "uet" / "gc-hold"
        self.me = self.holders / str(os.getpid())
        self._count = 0
        self._since = 0.0
        self._mutex = threading.Lock()

    def acquire(self) -> None:
        with self._mutex:
            if self._count and time.monotonic() - self._since < _REFRESH:
                self._count += 1
                return
            self.holders.mkdir(parents=True, exist_ok=True)
            self.me.write_text(f"{os.getpid()} {HOST}\n")
            self._take()
            self._count += 1
            self._since = time.monotonic()

    def release(self) -> None:
        with self._mutex:
            if not self._count:
                return
            self._count -= 1
            if self._count:
                return
            self.me.unlink(missing_ok=True)
            with self._locked():
                pid, host = self._owner()
                if pid != os.getpid() or host != HOST:
                    return
                heir = next((p for p in self._registered() if p != os.getpid() and _alive(p)), None)
                if heir is None:
                    self.pid_file.unlink(missing_ok=True)
                else:
                    self._write(heir)

    # -- inside -----------------------------------------------------------------------------

    def _take(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            with self._locked():
                pid, host = self._owner()
                ours = set(self._registered())
                ours_now = host == HOST and (pid in ours or pid == os.getpid())
                # git's own rule: a fresh gc.pid of a live pid here, or of any pid elsewhere.
                gc_running = (pid is not None and not ours_now and self._fresh()
                              and (host != HOST or _alive(pid)))
                if not gc_running:
                    if not ours_now or pid == os.getpid() or not _alive(pid or 0):
                        self._write(os.getpid())
                    else:
                        self._touch()  # another process of ours holds it: keep it fresh
                    return
            if time.monotonic() > deadline:
                raise GcRunning(f"git gc (pid {pid}) has been running for over {WAIT_SECONDS:.0f}s; "
                                "wait for it to finish, then run again")
            time.sleep(0.05)

    def _locked(self) -> _LockFile:
        return _LockFile(self.lock_file)

    def _owner(self) -> tuple[int | None, str | None]:
        try:
            fields = self.pid_file.read_text(errors="replace").split()
            return int(fields[0]), fields[1] if len(fields) > 1 else None
        except (OSError, ValueError, IndexError):
            return None, None

    def _fresh(self) -> bool:
        try:
            return time.time() - self.pid_file.stat().st_mtime <= _GIT_GC_PID_LIMIT
        except OSError:
            return False

    def _registered(self) -> list[int]:
        """Live holders of ours; the registrations of dead ones (kill -9) are dropped."""
        try:
            pids = [int(p.name) for p in self.holders.iterdir() if p.name.isdigit()]
        except OSError:
            return []
        for pid in [p for p in pids if not _alive(p)]:
            (self.holders / str(pid)).unlink(missing_ok=True)
        return [p for p in pids if _alive(p)]

    def _write(self, pid: int) -> None:
        # Under gc.pid.lock: write a temporary file and rename it into place, so git never
        # reads half a line.
        tmp = self.pid_file.with_name(f"gc.pid.uet-{os.getpid()}")
        tmp.write_text(f"{pid} {HOST}")
        os.replace(tmp, self.pid_file)

    def _touch(self) -> None:
        try:
            os.utime(self.pid_file)
        except OSError:
            pass


class _LockFile:
    """`gc.pid.lock`, created exclusively (git gc dies rather than wait when it exists, so
    it is held for microseconds); a lock left by a killed process is taken over after 10 s."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> _LockFile:
        deadline = time.monotonic() + 30
        while True:
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                return self
            except FileExistsError:
                try:
                    if time.time() - self.path.stat().st_mtime > 10:
                        self.path.unlink(missing_ok=True)
                        continue
                except OSError:
                    continue
                if time.monotonic() > deadline:
                    raise UetError(f"{self.path} is held by another process; remove it if no git gc "
                                   "or git uet command is running") from None
                time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


class Share:
    """One Repo's part in its process's hold: taken once, given back once."""

    def __init__(self, common_dir: Path):
        self.common_dir = common_dir
        self.held = False
        self._mutex = threading.Lock()

    def take(self) -> None:
        if self.held:
            return
        with self._mutex:
            if not self.held:
                hold_for(self.common_dir).acquire()
                self.held = True

    def give_back(self) -> None:
        with self._mutex:
            if self.held:
                self.held = False
                hold_for(self.common_dir).release()


_holds: dict[Path, GcHold] = {}
_holds_lock = threading.Lock()


def hold_for(common_dir: Path) -> GcHold:
    """The one GcHold of this process for a repository."""
    with _holds_lock:
        found = _holds.get(common_dir)
        if found is None:
            found = _holds[common_dir] = GcHold(common_dir)
        return found
