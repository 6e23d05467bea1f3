"""The sequential integrator: queued patches land on the target one at a time, each as one
commit that was gated exactly as it lands.

Per patch: build the candidate with `merge-tree` (no work tree), record it (`applied`),
gate it in the integration worktree, record the result (`verified`), then one ref
transaction moves together: the target (from the tip the candidate was built on), the
ledger, the provenance note, the lease and the workstream's branch (deleted). The target
can therefore only ever move to a fully gated candidate, exactly once per patch; a lost
race on the target means rebuild and re-gate. After the move the user's checkout follows
and the worktree goes. A kill anywhere is finished or redone by the next run
(`recovery.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from gitflow_uet import faults
from gitflow_uet.integrate.candidates import (CheckoutDirty, commit_message, failure_reasons, gate_budget, gate_candidate,
                                    gate_names, gates_field, guard_checkout, note_text, read_target, sync_checkout)
from gitflow_uet.errors import UsageError
from gitflow_uet.git import RefMoved, RefUpdate
from gitflow_uet.git.merge import merge_trees
from gitflow_uet.git.notes import NOTES_REF, note_update
from gitflow_uet.git.worktrees import Worktree, checkout_of, remove_worktree
from gitflow_uet.integrate.lease import LEASE_REF, DEFAULT_TTL, Lease, acquire
from gitflow_uet.ledger.store import Batch, Change, State
from gitflow_uet.integrate.queue import RecordIndex, next_patch
from gitflow_uet.project import Project
from gitflow_uet.workstream.quarantine import branch_ref, quarantine

# A target that keeps moving under us (someone pushing in a loop) is not chased forever.
MAX_REBUILDS = 5

# Every kill point of an integration run, in the order a patch reaches them; the crash
# tests kill at each one and check that a rerun converges.
FAULT_POINTS = (
    "integrate.leased",
    "integrate.recovered",
    "integrate.candidate-built",
    "integrate.applied-recorded",
    "candidate.gate-finished",
    "integrate.verified-recorded",
    "integrate.landed",
    "integrate.checkout-synced",
    "integrate.cleaned-up",
    "integrate.quarantined",
)

EventSink = Callable[[str, dict[str, Any]], None]


@dataclass
class IntegrateResult:
    landed: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reasons: dict[str, list[str]] = field(default_factory=dict)  # quarantined/skipped id -> why
    commits: dict[str, str] = field(default_factory=dict)        # landed id -> commit on the target
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.quarantined

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "landed": self.landed, "quarantined": self.quarantined, "skipped": self.skipped,
                "reasons": self.reasons, "commits": self.commits, "warnings": self.warnings}


def integrate(
    project: Project,
    only: list[str] | None = None,
    *,
    on_event: EventSink | None = None,
    wait: float = 0,
) -> IntegrateResult:
    """Land every queued patch that is ready (or only those of the workstreams `only`).

    Raises LeaseHeld when another integrator runs, CheckoutDirty (nothing moved) when the
    target's checkout has uncommitted changes in paths a patch touches.
    """
    wanted = _check_only(project, only)
    read_target(project)
    with acquire(project.repo, wait=wait) as lease:
        faults.point("integrate.leased")
        run = _Run(project, lease, on_event or (lambda _name, _payload: None))
        from gitflow_uet.integrate.recovery import recover

        recover(project, lease, run.patches, run.checkout, run.emit, run.result)
        faults.point("integrate.recovered")
        run.loop(wanted)
        return run.result


def _check_only(project: Project, only: list[str] | None) -> set[str] | None:
    if only is None:
        return None
    state = project.ledger.state()
    unknown = [ws for ws in only if ws not in project.specs and state.get("workstream", ws) is None]
    if unknown:
        raise UsageError(f"unknown workstream {', '.join(repr(u) for u in unknown)}: no spec and no ledger record")
    return set(only)


class _Run:
    def __init__(self, project: Project, lease: Lease, emit: EventSink):
        self.project, self.repo, self.lease, self.emit = project, project.repo, lease, emit
        self.ledger = project.ledger
        self.target = project.target_ref
        self.patches = RecordIndex(self.repo, "patch")
        self.workstreams = RecordIndex(self.repo, "workstream")
        self.result = IntegrateResult()
        # Looked up once per run: `worktree list` per patch would cost a spawn each time.
        self.checkout: Worktree | None = checkout_of(self.repo, self.target)

    def loop(self, wanted: set[str] | None) -> None:
        done: set[str] = set()
        waiting: list[Any] = []
        while True:
            state = self.ledger.state()
            patch, waiting = next_patch(self.project, self.patches.refresh(state), self.workstreams.refresh(state),
                                        only=wanted, done=done)
            if patch is None:
                break
            done.add(patch["id"])
            self.land(self.workstreams.records.get(patch["workstream"]) or {}, patch)
        queued = {w.workstream for w in waiting}
        for w in waiting:
            self._skip(w.workstream, w.reason)
        for ws_id in sorted(wanted or ()):
            if ws_id not in queued and ws_id not in self.result.landed and ws_id not in self.result.quarantined \
                    and ws_id not in self.result.skipped:
                now = self.ledger.state().state_of("workstream", ws_id) or "planned"
                self._skip(ws_id, f"nothing queued (workstream is {now})")

    def _conflict_sources(self, base: str | None, tip: str, paths: list[str]) -> list[str]:
        """Who changed each conflicting path on the target since the patch's base: the
        landed workstreams (their `Uet-Workstream` trailers), or the commits that did."""
        from gitflow_uet.git.history import changed_by

        if not base:
            return []
        lines = []
        for path in paths[:10]:
            found = changed_by(self.repo, base, tip, path)
            names = list(dict.fromkeys(ws or f"commit {sha[:10]}" for sha, ws in found))
            if names:
                lines.append(f"{path} changed on {self.project.config.target} since the base by {', '.join(names)}")
        return lines

    def _skip(self, ws_id: str, reason: str) -> None:
        if ws_id not in self.result.skipped:
            self.result.skipped.append(ws_id)
        self.result.reasons.setdefault(ws_id, []).append(reason)
        self.emit("skipped", {"workstream": ws_id, "reason": reason})

    # -- one patch ------------------------------------------------------------------------------

    def land(self, record: dict[str, Any], patch: dict[str, Any]) -> None:
        ws_id, patch_id = patch["workstream"], patch["id"]
        spec = self.project.specs.get(ws_id)
        title = record.get("title") or (spec.title if spec else ws_id)
        names = gate_names(self.project, ws_id)
        files = list(patch.get("files") or [])
        message = commit_message(f"{title} ({ws_id})", [("Uet-Workstream", ws_id), ("Uet-Patch", patch_id)])
        # The patch is what was checked at submit: the branch tip it was taken from, not
        # whatever the branch holds now.
        head = patch.get("head") or self.repo.read_ref(branch_ref(ws_id))
        if head is None:
            self._quarantine(ws_id, patch_id, ["patch: no head commit recorded and no branch"], "apply-failed",
                             "apply_failed", {"conflicts": []})
            return
        for attempt in range(1, MAX_REBUILDS + 1):
            tip = read_target(self.project)
            guard_checkout(self.checkout, self.project, files, f"cannot land {ws_id}")
            merge = merge_trees(self.repo, tip, head, drivers=self.project.config.merge_drivers)
            faults.point("integrate.candidate-built")
            if not merge.clean:
                reasons = [f"conflict: {m}" for m in merge.messages] or [f"conflict: {p}" for p in merge.conflicts]
                reasons += self._conflict_sources(patch.get("base"), tip, merge.conflicts)
                self._quarantine(ws_id, patch_id, reasons, "apply-failed", "apply_failed",
                                 {"conflicts": merge.conflicts, "target_tip": tip})
                return
            candidate = self.repo.write_commit(merge.tree, [tip], message)
            self.emit("candidate", {"workstream": ws_id, "patch": patch_id, "commit": candidate,
                                    "target_tip": tip, "attempt": attempt})
            applied = Change("patch", patch_id, "applied", "candidate-built",
                             {"candidate": candidate, "target_tip": tip}, expect="queued")
            before: list[Change] = []
            gates: dict[str, Any] = {}
            if names:
                self._record([applied], ttl=DEFAULT_TTL + gate_budget(self.project, names))
                faults.point("integrate.applied-recorded")
                try:
                    ok, results = gate_candidate(self.project, candidate, names, on_event=self._gate_event(ws_id),
                                                 env_extra={"UET_WORKSTREAM": ws_id, "UET_PATCH": patch_id})
                    reasons = failure_reasons(results, self.project.config.gate_timeout)
                except UsageError as err:  # the spec names a gate the config does not define
                    ok, results, reasons = False, [], [str(err)]
                gates = gates_field(results)
                if not ok:
                    self._quarantine(ws_id, patch_id, reasons, "gate-failed", "quarantined", {"gates": gates})
                    return
                self._record([Change("patch", patch_id, "verified", "gates-passed", {"gates": gates},
                                     expect="applied")])
                faults.point("integrate.verified-recorded")
                try:  # the user may have edited the checkout while the gates ran
                    guard_checkout(self.checkout, self.project, files, f"cannot land {ws_id}")
                except CheckoutDirty:
                    self._requeue(patch_id, "checkout-dirty")
                    raise
            else:
                # Nothing runs between building and landing: the whole walk is one entry.
                before = [applied, Change("patch", patch_id, "verified", "no-gates", {"gates": {}})]
            try:
                self._move_target(ws_id, {**patch, "gates": gates}, tip, candidate, before)
            except RefMoved as moved:
                if moved.ref == LEASE_REF:
                    raise self.lease.lost() from None
                if names:
                    self._requeue(patch_id, "target-moved" if moved.ref == self.target else "branch-moved")
                self.emit("rebuild", {"workstream": ws_id, "patch": patch_id,
                                      "reason": f"{moved.ref} moved since the candidate was built"})
                continue
            faults.point("integrate.landed")
            self._after_landing(ws_id, patch_id, record, tip, candidate)
            return
        self._skip(ws_id, f"the target moved {MAX_REBUILDS} times while {ws_id} was being gated; left queued")

    def _gate_event(self, ws_id: str) -> EventSink:
        return lambda name, payload: self.emit(name, {"workstream": ws_id, **payload})

    def _record(self, changes: list[Change], ttl: float | None = None) -> None:
        """A ledger write that also renews the lease, so it cannot land once the lease is lost."""
        renewal = self.lease.extend(ttl)
        try:
            self.ledger.update(lambda _state: Batch(list(changes), [renewal]))
        except RefMoved as moved:
            if moved.ref == LEASE_REF:
                raise self.lease.lost() from None
            raise
        self.lease.confirm(renewal)

    def _requeue(self, patch_id: str, event: str) -> None:
        self._record([Change("patch", patch_id, "queued", event)])

    def _move_target(self, ws_id: str, patch: dict[str, Any], tip: str, candidate: str,
                     before: list[Change]) -> None:
        """The landing: target, ledger, note, lease and branch in one `update-ref --stdin`."""
        patch_id = patch["id"]
        renewal = self.lease.hold()
        branch = branch_ref(ws_id)
        text = note_text(patch)

        def decide(_state: State) -> Batch:
            refs = [RefUpdate(self.target, candidate, tip), note_update(self.repo, candidate, text)]
            if renewal is not None:
                refs.append(renewal)
            branch_tip = self.repo.read_ref(branch)
            if branch_tip is not None:
                refs.append(RefUpdate(branch, None, branch_tip))
            changes = [*before,
                       Change("patch", patch_id, "committed", "landed", {"commit": candidate}, expect="verified"),
                       Change("workstream", ws_id, "integrated", "landed",
                              {"commit": candidate, "patch": patch_id, "branch": None, "worktree": None},
                              expect="submitted")]
            return Batch(changes, refs)

        while True:
            try:
                self.ledger.update(decide)
                break
            except RefMoved as moved:
                if moved.ref != NOTES_REF:
                    raise
                # A repair wrote a note meanwhile: nothing landed; build the note again.
        if renewal is not None:
            self.lease.confirm(renewal)

    def _after_landing(self, ws_id: str, patch_id: str, record: dict[str, Any], tip: str, candidate: str) -> None:
        _, warning = sync_checkout(self.project, self.checkout, tip, candidate)
        if warning:
            self.result.warnings.append(warning)
            self.emit("warning", {"workstream": ws_id, "message": warning})
        faults.point("integrate.checkout-synced")
        path = self.project.root / record["worktree"] if record.get("worktree") else None
        if path is not None and path.exists():
            remove_worktree(self.repo, path)
        faults.point("integrate.cleaned-up")
        self.result.landed.append(ws_id)
        self.result.commits[ws_id] = candidate
        self.emit("landed", {"workstream": ws_id, "patch": patch_id, "commit": candidate})

    def _quarantine(self, ws_id: str, patch_id: str, reasons: list[str], event: str, patch_state: str,
                    fields: dict[str, Any]) -> None:
        quarantine(self.project, ws_id, reasons=reasons, event=event, patch_id=patch_id,
                   patch_state=patch_state, patch_fields=fields)
        faults.point("integrate.quarantined")
        self.result.quarantined.append(ws_id)
        self.result.reasons[ws_id] = reasons
        self.emit("quarantined", {"workstream": ws_id, "patch": patch_id, "reasons": reasons})
