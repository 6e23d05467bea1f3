"""The integrator's lease: one integrator at a time, per repository, kept in git.

`refs/uet-lease/integrator` points at a blob (JSON: holder, pid, host, the
holder process's start time, acquired, expires).
It is taken by compare-and-swap: created where absent, or replaced where the holder's lease
has expired or its process is gone (same host only: a pid means nothing elsewhere; a
zombie or a pid reused by another process counts as gone). A
holder proves it still holds the lease by moving the ref from the value it wrote: every
ledger write of the integrator carries that move (`Lease.extend`), so a holder whose lease
was taken over cannot land anything.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from gitflow_uet.errors import UetError
from gitflow_uet.git import RefLocked, RefMoved, Repo, RefUpdate
from gitflow_uet.process import HOST, MY_START, running_here

LEASE_REF = "refs/uet-lease/integrator"
DEFAULT_TTL = 60.0
POLL_SECONDS = 0.5


class LeaseHeld(UetError):
    """Another integrator holds the lease and it has not expired."""

    exit_code = 1


class LeaseLost(UetError):
    """Our lease expired and another integrator took it over: we must stop at once."""

    exit_code = 1


@dataclass(frozen=True)
class LeaseInfo:
    holder: str
    pid: int
    host: str
    acquired: float
    expires: float
    started: float | None = None   # the holder process's start time: tells a reused pid

    @classmethod
    def parse(cls, data: bytes) -> LeaseInfo | None:
        try:
            doc: dict[str, Any] = json.loads(data)
            started = doc.get("started")
            return cls(str(doc["holder"]), int(doc["pid"]), str(doc["host"]),
                       float(doc["acquired"]), float(doc["expires"]),
                       None if started is None else float(started))
        except (ValueError, KeyError, TypeError):
            return None

    def to_bytes(self) -> bytes:
        return json.dumps({"holder": self.holder, "pid": self.pid, "host": self.host,
                           "acquired": round(self.acquired, 3), "expires": round(self.expires, 3),
                           "started": self.started},
                          sort_keys=True).encode()

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires

    def holder_dead(self) -> bool:
        """True only when we can tell: the holder ran on this host and its process is gone."""
        return running_here(self.host, self.pid, self.started) is False

    def describe(self) -> str:
        left = self.expires - time.time()
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.expires))
        return f"pid {self.pid} on {self.host}, expires {when} (in {max(left, 0):.0f}s)"


def read_lease(repo: Repo) -> tuple[str, LeaseInfo | None] | None:
    """(blob sha, parsed lease or None if unreadable) of the current lease, or None."""
    sha = repo.read_ref(LEASE_REF)
    if sha is None:
        return None
    try:
        return sha, LeaseInfo.parse(repo.read_blob(sha))
    except UetError:
        return sha, None


def takeable(info: LeaseInfo | None) -> bool:
    """An unreadable, expired or orphaned lease may be replaced."""
    return info is None or info.expired() or info.holder_dead()


class Lease:
    """A held lease. Use as a context manager, or call `release()`."""

    def __init__(self, repo: Repo, sha: str, info: LeaseInfo, ttl: float):
        self.repo, self.sha, self.info, self.ttl = repo, sha, info, ttl
        self._pending: tuple[str, LeaseInfo] = (sha, info)

    def _write(self, ttl: float) -> tuple[str, LeaseInfo]:
        now = time.time()
        info = LeaseInfo(self.info.holder, self.info.pid, self.info.host, self.info.acquired, now + ttl,
                         self.info.started)
        return self.repo.write_blob(info.to_bytes()), info

    def extend(self, ttl: float | None = None) -> RefUpdate:
        """A ref move that renews the lease for `ttl` seconds (default: the lease's ttl),
        for the caller to put in its own transaction; call `confirm` once it went through.
        A RefMoved on it means the lease was lost."""
        sha, info = self._write(self.ttl if ttl is None else ttl)
        self._pending = (sha, info)
        return RefUpdate(LEASE_REF, sha, self.sha)

    def hold(self) -> RefUpdate | None:
        """Between patches: a renewal for the caller's transaction once half the lease's
        time is gone; before that, only a check that it is still ours (raises LeaseLost).

        The target and the ledger move by compare-and-swap whoever holds the lease, so a
        landing never depends on it for correctness; the lease keeps two integrators from
        doing the same work, and a lost one makes us stop.
        """
        if self.info.expires - time.time() < self.ttl / 2:
            return self.extend()
        if self.repo.read_ref(LEASE_REF) != self.sha:
            raise self.lost()
        return None

    def confirm(self, update: RefUpdate) -> None:
        sha, info = self._pending
        if update.new == sha:
            self.sha, self.info = sha, info

    def renew(self, ttl: float | None = None) -> None:
        """Renew on its own (between patches, or before a long gate run)."""
        update = self.extend(ttl)
        try:
            _move(self.repo, update, "uet: integrator lease renewed")
        except RefMoved:
            raise self.lost() from None
        self.confirm(update)

    def lost(self) -> LeaseLost:
        return LeaseLost("the integrator lease expired and was taken over by another integrator; "
                         "stopped without landing anything further")

    def release(self) -> None:
        """Delete the lease if it is still ours; a lease taken over is left to its holder."""
        try:
            _move(self.repo, RefUpdate(LEASE_REF, None, self.sha), "uet: integrator lease released")
        except RefMoved:
            pass

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _move(repo: Repo, update: RefUpdate, reason: str) -> None:
    # A lock held for a few milliseconds by a concurrent update-ref is not a refusal.
    deadline = time.monotonic() + 5.0
    while True:
        try:
            repo.update_refs([update], reason)
            return
        except RefLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def acquire(repo: Repo, *, ttl: float = DEFAULT_TTL, wait: float = 0) -> Lease:
    """Take the lease, waiting up to `wait` seconds for a live holder to let go.

    Raises LeaseHeld naming the holder when it is still held after `wait`.
    """
    me = LeaseInfo(uuid.uuid4().hex, os.getpid(), HOST, time.time(), 0.0, MY_START)
    deadline = time.monotonic() + max(wait, 0)
    while True:
        current = read_lease(repo)
        old_sha = current[0] if current else None
        info = current[1] if current else None
        if current is None or takeable(info):
            now = time.time()
            mine = LeaseInfo(me.holder, me.pid, me.host, now, now + ttl, me.started)
            sha = repo.write_blob(mine.to_bytes())
            reason = "uet: integrator lease taken" if current is None else "uet: expired integrator lease taken over"
            try:
                _move(repo, RefUpdate(LEASE_REF, sha, old_sha), reason)
                return Lease(repo, sha, mine, ttl)
            except RefMoved:
                continue  # someone else was faster: look again
        if time.monotonic() >= deadline:
            assert info is not None
            raise LeaseHeld(f"another integrator holds the lease ({info.describe()}); "
                            "try again later or pass --wait SECONDS")
        time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.01)))


def release_if_expired(repo: Repo) -> bool:
    """Delete a lease nobody holds any more (expired or its process gone); for fsck."""
    current = read_lease(repo)
    if current is None or not takeable(current[1]):
        return False
    try:
        _move(repo, RefUpdate(LEASE_REF, None, current[0]), "uet: expired integrator lease released")
    except RefMoved:
        return False
    return True
