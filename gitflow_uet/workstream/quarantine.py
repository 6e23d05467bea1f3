"""Quarantine: a workstream whose patch was refused or broke a gate leaves the queue.

Its worktree goes (submit committed everything in it), and in one ref transaction with
the ledger entry its branch moves from `uet/<id>` to `uet/quarantine/<id>`: the ledger
and the branches never disagree, whatever moment the process dies at.
"""

from __future__ import annotations

from typing import Any

from gitflow_uet.git import RefUpdate
from gitflow_uet.git.worktrees import remove_worktree
from gitflow_uet.ledger.store import Batch, Change, State
from gitflow_uet.project import Project


def branch_ref(ws_id: str) -> str:
    return f"refs/heads/uet/{ws_id}"


def quarantine_ref(ws_id: str) -> str:
    return f"refs/heads/uet/quarantine/{ws_id}"


def quarantine(
    project: Project,
    ws_id: str,
    *,
    reasons: list[str],
    event: str,
    patch_id: str | None = None,
    patch_state: str = "quarantined",
    patch_fields: dict[str, Any] | None = None,
    keep_worktree: bool = False,
) -> None:
    """`keep_worktree`: its uncommitted changes were refused, not committed; the worktree
    stays (detached by the caller) and is no longer the workstream's."""
    repo = project.repo
    record = project.ledger.state().get("workstream", ws_id) or {}
    if record.get("worktree") and not keep_worktree:
        remove_worktree(repo, project.root / record["worktree"])

    def decide(state: State) -> Batch:
        changes: list[Change] = []
        if patch_id is not None:
            changes.append(Change("patch", patch_id, patch_state, event, {"reasons": reasons, **(patch_fields or {})}))
        if state.state_of("workstream", ws_id) == "running":
            changes.append(Change("workstream", ws_id, "submitted", event))
        changes.append(Change("workstream", ws_id, "quarantined", event, {
            "reasons": reasons, "branch": f"uet/quarantine/{ws_id}", "worktree": None}))
        refs: list[RefUpdate] = []
        tip = repo.read_ref(branch_ref(ws_id))
        if tip is not None:
            refs = [RefUpdate(branch_ref(ws_id), None, tip),
                    RefUpdate(quarantine_ref(ws_id), tip, repo.read_ref(quarantine_ref(ws_id)))]
        return Batch(changes, refs)

    project.ledger.update(decide)
