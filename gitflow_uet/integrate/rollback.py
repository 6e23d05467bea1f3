"""Rollback: undo an integrated workstream on the target with a gated revert commit.

The revert is built like any candidate (three-way merge without a work tree, parent = the
target tip), gated in the integration worktree, and lands in one transaction with the
ledger (`integrated → rolled_back`). Workstreams integrated on top of it that depend on it
are rolled back first with `cascade`, newest first; without it they are named and nothing
moves.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from gitflow_uet import faults
from gitflow_uet.integrate.candidates import (commit_message, gate_budget, gate_candidate, gate_names,
                                    guard_checkout, read_target, sync_checkout)
from gitflow_uet.errors import UetError, UsageError
from gitflow_uet.git import RefMoved, RefUpdate
from gitflow_uet.git.merge import changed_paths_between, is_ancestor, revert_tree
from gitflow_uet.git.worktrees import Worktree, checkout_of
from gitflow_uet.integrate.lease import DEFAULT_TTL, LEASE_REF, Lease, acquire
from gitflow_uet.ledger.store import Batch, Change, State
from gitflow_uet.integrate.queue import dependencies
from gitflow_uet.project import Project
from gitflow_uet.integrate.recovery import recover_checkout

MAX_REBUILDS = 5
EventSink = Callable[[str, dict[str, Any]], None]


class RollbackRefused(UetError):
    """The revert conflicts with later changes, or it fails a gate: nothing was moved."""

    exit_code = 1


def rollback(project: Project, ws_id: str, *, cascade: bool = False,
             on_event: EventSink | None = None, wait: float = 0) -> list[str]:
    """Roll back `ws_id` (and, with `cascade`, the integrated workstreams that depend on
    it, first); the ids rolled back, in the order they were."""
    emit = on_event or (lambda _name, _payload: None)
    state = project.ledger.state()
    record = state.get("workstream", ws_id)
    if record is None:
        project.spec(ws_id)  # unknown id: the usual message
        raise UsageError(f"{ws_id} was never integrated; only an integrated workstream can be rolled back")
    if record["state"] != "integrated":
        raise UsageError(f"{ws_id} is {record['state']}; only an integrated workstream can be rolled back")
    dependents = _dependents(project, state, ws_id)
    if dependents and not cascade:
        raise UsageError(f"{ws_id} cannot be rolled back alone: integrated workstreams depend on it: "
                         f"{', '.join(dependents)} (roll them back first, or pass --cascade)")
    order = _newest_first(project, state, dependents) + [ws_id]
    done: list[str] = []
    with acquire(project.repo, wait=wait) as lease:
        checkout = checkout_of(project.repo, project.target_ref)
        recover_checkout(project, checkout)
        for item in order:
            _revert_one(project, lease, checkout, item, emit)
            done.append(item)
    return done


def _dependents(project: Project, state: State, ws_id: str) -> list[str]:
    """Integrated workstreams that depend on `ws_id`, directly or through others."""
    depends: dict[str, set[str]] = {}
    for record in state.all("workstream"):
        deps = set(project.specs[record["id"]].depends_on) if record["id"] in project.specs else set()
        patch = state.get("patch", record["patch"]) if record.get("patch") else None
        if patch is not None:
            deps |= set(dependencies(project, patch))
        depends[record["id"]] = deps
    found: set[str] = set()
    frontier = [ws_id]
    while frontier:
        current = frontier.pop()
        for other, deps in depends.items():
            if current in deps and other not in found and other != ws_id:
                found.add(other)
                frontier.append(other)
    return sorted(d for d in found if state.state_of("workstream", d) == "integrated")


def _newest_first(project: Project, state: State, ws_ids: list[str]) -> list[str]:
    commits = {ws: str((state.get("workstream", ws) or {}).get("commit")) for ws in ws_ids}

    def compare(a: str, b: str) -> int:
        if commits[a] == commits[b]:
            return 0
        return 1 if is_ancestor(project.repo, commits[a], commits[b]) else -1

    return sorted(ws_ids, key=functools.cmp_to_key(compare))


def _revert_one(project: Project, lease: Lease, checkout: Worktree | None, ws_id: str, emit: EventSink) -> str:
    repo = project.repo
    for _attempt in range(MAX_REBUILDS):
        state = project.ledger.state()
        record = state.get("workstream", ws_id) or {}
        commit, title = record.get("commit"), record.get("title") or ws_id
        patch_id = record.get("patch")
        tip = read_target(project)
        if not commit or not is_ancestor(repo, commit, tip):
            raise UsageError(f"{ws_id}'s commit {commit} is not on {project.config.target}; nothing to revert")
        merge = revert_tree(repo, commit, tip, drivers=project.config.merge_drivers)
        faults.point("rollback.built")
        if not merge.clean:
            raise RollbackRefused(
                f"cannot roll back {ws_id}: reverting {commit[:12]} conflicts with later changes to "
                f"{', '.join(merge.conflicts)}; nothing was moved")
        message = commit_message(f'Revert "{title} ({ws_id})"', [("Uet-Workstream", ws_id), ("Uet-Revert", commit)])
        revert = repo.write_commit(merge.tree, [tip], message)
        if checkout is not None:
            guard_checkout(checkout, project, changed_paths_between(repo, tip, revert), f"cannot roll back {ws_id}")
        emit("candidate", {"workstream": ws_id, "commit": revert, "target_tip": tip, "revert_of": commit})
        names = gate_names(project, ws_id)
        if names:
            lease.renew(DEFAULT_TTL + gate_budget(project, names))
            ok, results = gate_candidate(project, revert, names,
                                         on_event=lambda n, p: emit(n, {"workstream": ws_id, **p}),
                                         env_extra={"UET_WORKSTREAM": ws_id})
            if not ok:
                bad = results[-1]
                tail = "\n".join(bad.text.rstrip().splitlines()[-5:])
                raise RollbackRefused(f"cannot roll back {ws_id}: the revert fails gate {bad.name} "
                                      f"({bad.summary()}); nothing was moved\n{tail}".rstrip())
        renewal = lease.extend()

        def decide(_state: State) -> Batch:
            changes = [Change("workstream", ws_id, "rolled_back", "rollback", {"revert": revert}, expect="integrated")]
            if patch_id:
                changes.append(Change("patch", patch_id, "rolled_back", "rollback", {"revert": revert},
                                      expect="committed"))
            return Batch(changes, [RefUpdate(project.target_ref, revert, tip), renewal])

        try:
            project.ledger.update(decide)
        except RefMoved as moved:
            if moved.ref == LEASE_REF:
                raise lease.lost() from None
            emit("rebuild", {"workstream": ws_id, "reason": f"{moved.ref} moved meanwhile"})
            continue
        lease.confirm(renewal)
        faults.point("rollback.landed")
        _, warning = sync_checkout(project, checkout, tip, revert)
        if warning:
            emit("warning", {"workstream": ws_id, "message": warning})
        emit("rolled-back", {"workstream": ws_id, "commit": revert, "revert_of": commit})
        return revert
    raise RollbackRefused(f"cannot roll back {ws_id}: {project.config.target} kept moving; nothing was moved")
