"""The integration queue: which queued patch lands next, and why the others wait.

Order (deterministic): a patch is ready once every workstream its own depends_on and its
spec's depends_on name is integrated; among ready ones, priority rank (0 = CRITICAL first),
then age (patch ids are ULIDs, so they sort by creation time).

Records are kept in step with the ledger incrementally (`RecordIndex`): after the first
full read, each new ledger tip costs a walk of only the subtrees that changed, in-process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gitflow_uet.git import Repo
from gitflow_uet.ledger.store import KIND_DIRS, State
from gitflow_uet.project import Project

DEFAULT_PRIORITY = 2  # MEDIUM


class RecordIndex:
    """Every record of one kind at a ledger state, refreshed by tree diff."""

    def __init__(self, repo: Repo, kind: str):
        self.repo, self.kind = repo, kind
        self.tree: str | None = None
        self.records: dict[str, dict[str, Any]] = {}
        self._blobs: dict[str, str] = {}  # record id -> blob sha

    def refresh(self, state: State) -> dict[str, dict[str, Any]]:
        new = self._kind_tree(state)
        if new == self.tree:
            return self.records
        if self.tree is None:
            self._load_all(state)
        elif new is None:
            self.records, self._blobs = {}, {}
        else:
            self._sync(self.tree, new)
        self.tree = new
        return self.records

    def _kind_tree(self, state: State) -> str | None:
        if state.tree is None:
            return None
        entry = next((e for e in self.repo.read_tree(state.tree) if e.name == KIND_DIRS[self.kind]), None)
        return entry.sha if entry is not None and entry.is_tree else None

    def _load_all(self, state: State) -> None:
        # One ls-tree and one cat-file --batch for everything: the cheap first read.
        rows = [r for r in self.repo.ls_tree(f"{state.tree}:{KIND_DIRS[self.kind]}") if r[1] == "blob"]
        self.records, self._blobs = {}, {}
        for (_, _, sha, _), data in zip(rows, self.repo.read_blobs([r[2] for r in rows])):
            record = json.loads(data)
            self.records[record["id"]] = record
            self._blobs[record["id"]] = sha

    def _sync(self, old: str | None, new: str | None) -> None:
        olds = {e.name: e for e in self.repo.read_tree(old)} if old else {}
        news = {e.name: e for e in self.repo.read_tree(new)} if new else {}
        for name in sorted(set(olds) | set(news)):
            a, b = olds.get(name), news.get(name)
            if a is not None and b is not None and a.sha == b.sha:
                continue
            if (a is not None and a.is_tree) or (b is not None and b.is_tree):
                self._sync(a.sha if a is not None and a.is_tree else None,
                           b.sha if b is not None and b.is_tree else None)
            elif b is None:
                self.records.pop(name, None)
                self._blobs.pop(name, None)
            else:
                record = json.loads(self.repo.read_blob(b.sha))
                self.records[record["id"]] = record
                self._blobs[record["id"]] = b.sha


@dataclass(frozen=True)
class Waiting:
    workstream: str
    patch: str | None
    reason: str


def dependencies(project: Project, patch: dict[str, Any]) -> list[str]:
    deps = list(patch.get("depends_on") or [])
    spec = project.specs.get(patch["workstream"])
    if spec is not None:
        deps += [d for d in spec.depends_on if d not in deps]
    return deps


def priority(project: Project, patch: dict[str, Any]) -> int:
    if isinstance(patch.get("priority"), int):
        return int(patch["priority"])
    spec = project.specs.get(patch["workstream"])
    return spec.priority_rank if spec is not None else DEFAULT_PRIORITY


def next_patch(
    project: Project,
    patches: dict[str, dict[str, Any]],
    workstreams: dict[str, dict[str, Any]],
    *,
    only: set[str] | None,
    done: set[str],
) -> tuple[dict[str, Any] | None, list[Waiting]]:
    """The next patch to integrate, and every other queued one that cannot go now (with
    the reason). `done` holds patch ids this run has finished with."""
    ready: list[tuple[int, str, dict[str, Any]]] = []
    waiting: list[Waiting] = []

    def state_of(ws_id: str) -> str | None:
        record = workstreams.get(ws_id)
        return record.get("state") if record else None

    for patch in patches.values():
        ws_id = patch.get("workstream")
        if patch.get("state") != "queued" or patch["id"] in done or ws_id is None:
            continue
        if only is not None and ws_id not in only:
            continue
        if state_of(ws_id) != "submitted":
            waiting.append(Waiting(ws_id, patch["id"], f"workstream is {state_of(ws_id) or 'unknown'}, not submitted"))
            continue
        blocked = [d for d in dependencies(project, patch) if state_of(d) != "integrated"]
        if blocked:
            why = ", ".join(f"{d} ({state_of(d) or 'not started'})" for d in blocked)
            waiting.append(Waiting(ws_id, patch["id"], f"waiting for {why} to be integrated"))
            continue
        ready.append((priority(project, patch), patch["id"], patch))
    ready.sort(key=lambda item: (item[0], item[1]))
    return (ready[0][2] if ready else None), sorted(waiting, key=lambda w: (w.workstream, w.patch or ""))
