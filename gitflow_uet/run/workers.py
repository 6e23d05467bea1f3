"""Workers: their lifecycle in the ledger, their heartbeats, and the recovery of dead ones.

A worker's state changes are ledger commits (SPAWNING → IDLE ⇄ BUSY → DRAINING →
TERMINATED). Its heartbeat is not: a beat rewrites a small file under
`.git/uet/heartbeats/` (pid, host, the process's start time, time), so a run of hours does not fill the ledger with
beats. A worker whose process is gone (or a zombie, or its pid now another process's), or
whose file has gone stale, is presumed dead:
it is terminated in the ledger and its workstream goes back to `planned`, its worktree
and branch removed so that the work is redone from the target.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from gitflow_uet.git import RefUpdate
from gitflow_uet.git.worktrees import remove_worktree
from gitflow_uet.ledger.store import Batch, Change, State
from gitflow_uet.process import HOST, MY_START, running_here
from gitflow_uet.project import Project
from gitflow_uet.workstream.quarantine import branch_ref

BEAT_SECONDS = 1.0
# A heartbeat older than this means the worker is dead (when its pid cannot be checked).
STALE_SECONDS = 15.0


def heartbeat_dir(project: Project) -> Path:
    return project.repo.uet_dir / "heartbeats"


class Heartbeats:
    """One thread that beats for every worker of this process."""

    def __init__(self, project: Project):
        self.folder = heartbeat_dir(project)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.workers: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="uet-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, worker_id: str) -> None:
        with self._lock:
            self.workers.add(worker_id)
        self._beat(worker_id)

    def remove(self, worker_id: str) -> None:
        with self._lock:
            self.workers.discard(worker_id)
        (self.folder / worker_id).unlink(missing_ok=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(BEAT_SECONDS):
            with self._lock:
                current = list(self.workers)
            for worker_id in current:
                self._beat(worker_id)

    def _beat(self, worker_id: str) -> None:
        path = self.folder / worker_id
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "host": HOST, "started": MY_START,
                                   "time": time.time()}))
        os.replace(tmp, path)


def is_alive(project: Project, record: dict[str, Any]) -> bool:
    path = heartbeat_dir(project) / record["id"]
    try:
        beat = json.loads(path.read_text())
        age = time.time() - path.stat().st_mtime
    except (OSError, ValueError):
        return False
    try:
        host, pid, started = str(beat["host"]), int(beat["pid"]), beat.get("started")
        started = None if started is None else float(started)
    except (KeyError, TypeError, ValueError):
        return False
    if running_here(host, pid, started) is False:
        return False
    return age < STALE_SECONDS


def release(project: Project, ws_ids: list[str], *, event: str, reason: str,
            also: list[Change] | None = None) -> list[str]:
    """Put running workstreams back to `planned`, their worktree and branch removed, so that
    their work is redone from the target; `also` is recorded in the same batch. Returns
    the ids released (those still running when the batch lands)."""
    state = project.ledger.state()
    # Files first, ledger second: a kill in between leaves the workstream running with
    # nothing on disk, and the next recovery does the same again.
    for ws_id in ws_ids:
        record = state.get("workstream", ws_id) or {}
        if record.get("state") == "running" and record.get("worktree"):
            remove_worktree(project.repo, project.root / record["worktree"])
    released: list[str] = []

    def decide(current: State) -> Batch:
        released.clear()
        changes = list(also or [])
        refs = []
        for ws_id in ws_ids:
            if current.state_of("workstream", ws_id) != "running":
                continue
            released.append(ws_id)
            changes.append(Change("workstream", ws_id, "planned", event,
                                  {"worker": None, "worktree": None, "reasons": [reason]}))
            tip = project.repo.read_ref(branch_ref(ws_id))
            if tip:
                refs.append(RefUpdate(branch_ref(ws_id), None, tip))
        return Batch(changes, refs)

    if ws_ids or also:
        if decide(state).changes:
            project.ledger.update(decide)
    return released


def recover(project: Project) -> list[str]:
    """Terminate dead workers and put their workstreams back to `planned`; end runs whose
    workers are all gone. Returns the recovered workstream ids."""
    state = project.ledger.state()
    workers = state.all("worker")
    dead = [w for w in workers if w["state"] != "TERMINATED" and not is_alive(project, w)]
    dead_ids = {w["id"] for w in dead}
    orphans = [ws["id"] for ws in state.all("workstream")
               if ws["state"] == "running" and ws.get("worker") in dead_ids]
    live_runs = {w.get("run") for w in workers if w["state"] != "TERMINATED" and w["id"] not in dead_ids}
    endings = [Change("worker", w["id"], "TERMINATED", "presumed dead") for w in dead]
    endings += [Change("run", r["id"], "failed", "interrupted") for r in state.all("run")
                if r["state"] in ("pending", "running") and r["id"] not in live_runs]
    # A worker may have ended between our read and our write: only what is still due.
    endings = [c for c in endings if state.state_of(c.kind, c.id) not in ("TERMINATED", "failed")]
    recovered = release(project, orphans, event="recover",
                        reason="its worker died; the work is redone", also=endings)
    for w in dead:
        (heartbeat_dir(project) / w["id"]).unlink(missing_ok=True)
    return recovered
