"""What an integration run does first: finish or undo whatever a killed run left behind.

The landing transaction (target, ledger, note, branch) is atomic, so only these can be
half-done:
- a patch left `applied` or `verified` (killed while building or gating, or before the
  target moved): back to `queued`, to be rebuilt on the current tip and gated again;
- an integrated workstream whose worktree is still there (killed before its removal), or
  whose branch was made again with exactly what landed: removed;
- the target's checkout still on the old tip (killed between the ref move and the
  read-tree, by the integrator or a rollback): brought forward.
A landed commit whose note is missing (deleted by hand) gets it back as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from gitflow_uet.integrate.candidates import note_text, sync_checkout
from gitflow_uet.git import RefMoved, RefUpdate
from gitflow_uet.git.merge import commit_message, commit_parents
from gitflow_uet.git.notes import add_note, noted_commits
from gitflow_uet.git.refs import refs_under
from gitflow_uet.git.worktrees import Worktree, remove_worktree
from gitflow_uet.integrate.lease import LEASE_REF, Lease
from gitflow_uet.ledger.store import Batch, Change, State
from gitflow_uet.integrate.queue import RecordIndex
from gitflow_uet.project import Project
from gitflow_uet.workstream.quarantine import branch_ref

if TYPE_CHECKING:
    from gitflow_uet.integrate.integrator import IntegrateResult

EventSink = Callable[[str, dict[str, Any]], None]


def recover(project: Project, lease: Lease, patches: RecordIndex, checkout: Worktree | None,
            emit: EventSink, result: IntegrateResult) -> None:
    repo = project.repo
    state = project.ledger.state()
    records = patches.refresh(state)
    stuck = sorted(p["id"] for p in records.values() if p.get("state") in ("applied", "verified"))
    if stuck:
        _requeue(project, lease, stuck)
        for patch_id in stuck:
            emit("recovered", {"patch": patch_id, "workstream": records[patch_id].get("workstream"),
                               "what": "requeued: its candidate is rebuilt and gated again"})
    warning = recover_checkout(project, checkout, emit)
    if warning:
        result.warnings.append(warning)
        emit("warning", {"message": warning})
    committed = [p for p in records.values() if p.get("state") == "committed" and p.get("commit")]
    if not committed:
        return
    noted = noted_commits(repo)
    for patch in sorted(committed, key=lambda p: p["id"]):
        if patch["commit"] not in noted:
            add_note(repo, patch["commit"], note_text(patch))
            emit("recovered", {"patch": patch["id"], "workstream": patch.get("workstream"),
                               "what": f"note added to {patch['commit'][:12]}"})
    _clean_integrated(project, state, committed, emit)


def recover_checkout(project: Project, checkout: Worktree | None, emit: EventSink | None = None) -> str | None:
    """Bring the target's checkout forward if the last commit we put on the target (a
    landing or a revert: it carries our trailer) never reached it; a warning if it can't."""
    if checkout is None:
        return None
    repo = project.repo
    tip = repo.read_ref(project.target_ref)
    if tip is None:
        return None
    parents = commit_parents(repo, tip)
    if len(parents) != 1 or "\nUet-Workstream: " not in "\n" + commit_message(repo, tip):
        return None
    moved, warning = sync_checkout(project, checkout, parents[0], tip, only_if_behind=True)
    if moved and emit is not None:
        emit("recovered", {"what": f"checkout at {checkout.path} brought forward to {tip[:12]}"})
    return warning


def _requeue(project: Project, lease: Lease, patch_ids: list[str]) -> None:
    renewal = lease.extend()

    def decide(state: State) -> Batch:
        changes = [Change("patch", pid, "queued", "recover") for pid in patch_ids
                   if state.state_of("patch", pid) in ("applied", "verified")]
        return Batch(changes, [renewal])

    try:
        project.ledger.update(decide)
    except RefMoved as moved:
        if moved.ref == LEASE_REF:
            raise lease.lost() from None
        raise
    lease.confirm(renewal)


def _clean_integrated(project: Project, state: State, committed: list[dict[str, Any]], emit: EventSink) -> None:
    """Worktrees of integrated workstreams, and branches named after them that hold
    exactly what landed (the landing deletes the branch; one still there was re-made)."""
    repo = project.repo
    by_ws = {p["workstream"]: p for p in committed if p.get("workstream")}
    folder = project.worktrees_dir
    leftovers = [d.name for d in folder.iterdir() if d.name in by_ws] if folder.is_dir() else []
    branches = refs_under(repo, "refs/heads/uet/")
    for ws_id, patch in sorted(by_ws.items()):
        if ws_id not in leftovers and branch_ref(ws_id) not in branches:
            continue
        if state.state_of("workstream", ws_id) != "integrated":
            continue
        if ws_id in leftovers:
            remove_worktree(repo, folder / ws_id)
            emit("recovered", {"workstream": ws_id, "what": "worktree removed"})
        ref = branch_ref(ws_id)
        if branches.get(ref) is not None and branches[ref] == patch.get("head"):
            try:
                repo.update_refs([RefUpdate(ref, None, branches[ref])], f"uet: {ws_id} integrated, branch removed")
                emit("recovered", {"workstream": ws_id, "what": f"branch uet/{ws_id} deleted"})
            except RefMoved:
                pass
