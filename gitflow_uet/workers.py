"""Workers: their lifecycle in the ledger, their heartbeats, and the recovery of dead ones.

A worker's state changes are ledger commits (SPAWNING → IDLE ⇄ BUSY → DRAINING →
TERMINATED). Its heartbeat is not: a beat rewrites a small file under
`.git/uet/heartbeats/` (pid, host, time), so a run of hours does not fill the ledger with
beats. A worker whose process is gone, or whose file has gone stale, is presumed dead:
it is terminated in the ledger and its workstream goes back to `planned`, its worktree
and branch removed so that the work is redone from the target.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from gitflow_uet.git import RefUpdate
from gitflow_uet.git.worktrees import remove_worktree
from gitflow_uet.ledger import Batch, Change, State
from gitflow_uet.project import Project
from gitflow_uet.quarantine import branch_ref

BEAT_SECONDS = 1.0
# A heartbeat older than this means the worker is dead (when its pid cannot be checked).
STALE_SECONDS = 15.0
HOST = socket.gethostname()


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
        tmp.write_text(json.dumps({"pid": os.getpid(), "host": HOST, "time": time.time()}))
        os.replace(tmp, path)


def is_alive(project: Project, record: dict[str, Any]) -> bool:
    path = heartbeat_dir(project) / record["id"]
    try:
        beat = json.loads(path.read_text())
        age = time.time() - path.stat().st_mtime
    except (OSError, ValueError):
        return False
    if beat.get("host") == HOST:
        try:
            os.kill(int(beat["pid"]), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
    return age < STALE_SECONDS


def recover(project: Project) -> list[str]:
    """Terminate dead workers and put their workstreams back to `planned`; end runs whose
    workers are all gone. Returns the recovered workstream ids."""
    state = project.ledger.state()
    dead = [w for w in state.all("worker") if w["state"] != "TERMINATED" and not is_alive(project, w)]
    orphans = [ws for ws in state.all("workstream")
               if ws["state"] == "running" and ws.get("worker") and
               any(ws["worker"] == w["id"] for w in dead)]
    # Files first, ledger second: a kill in between leaves the workstream running with
    # nothing on disk, and the next recovery does the same again.
    for ws in orphans:
        if ws.get("worktree"):
            remove_worktree(project.repo, project.root / ws["worktree"])
    live_runs = {w.get("run") for w in state.all("worker")
                 if w["state"] != "TERMINATED" and w not in dead}

    def decide(current: State) -> Batch:
        changes = [Change("worker", w["id"], "TERMINATED", "presumed dead") for w in dead
                   if current.state_of("worker", w["id"]) != "TERMINATED"]
        refs = []
        for ws in orphans:
            if current.state_of("workstream", ws["id"]) != "running":
                continue
            changes.append(Change("workstream", ws["id"], "planned", "recover",
                                  {"worker": None, "worktree": None,
                                   "reasons": [f"worker {ws['worker']} died; redone"]}))
            tip = project.repo.read_ref(branch_ref(ws["id"]))
            if tip:
                refs.append(RefUpdate(branch_ref(ws["id"]), None, tip))
        for run in current.all("run"):
            if run["state"] in ("pending", "running") and run["id"] not in live_runs:
                changes.append(Change("run", run["id"], "failed", "interrupted"))
        return Batch(changes, refs)

    if dead or any(r["state"] in ("pending", "running") for r in state.all("run")):
        batch = decide(state)
        if batch.changes:
            project.ledger.update(decide)
    for w in dead:
        (heartbeat_dir(project) / w["id"]).unlink(missing_ok=True)
    return [ws["id"] for ws in orphans]
