"""The state machines of DESIGN.md. The ledger refuses any transition not listed here."""

from __future__ import annotations

from gitflow_uet.errors import TransitionError

KINDS = ("workstream", "patch", "worker", "run")

# kind -> the state a new item starts in.
INITIAL = {"workstream": "planned", "patch": "created", "worker": "SPAWNING", "run": "pending"}

# kind -> state -> states it may move to.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "workstream": {
        "planned": frozenset({"running", "blocked"}),
        # `running -> planned` is the recovery of a workstream whose worker died: it is
        # not a failure of the work, so it goes back to the queue rather than to `failed`.
        # It is also `git uet abandon` (event `abandon`): dropped by hand, its work saved
        # under refs/uet-saved/<id>/<n>, planned again for a later attempt.
        "running": frozenset({"submitted", "failed", "planned"}),
        "submitted": frozenset({"integrated", "quarantined"}),
        "integrated": frozenset({"rolled_back"}),
        "failed": frozenset({"planned"}),
        "quarantined": frozenset({"planned"}),
        "blocked": frozenset({"planned"}),
        "rolled_back": frozenset({"planned"}),
    },
    "patch": {
        "created": frozenset({"validated", "quarantined", "dropped"}),
        "validated": frozenset({"queued", "quarantined", "dropped"}),
        "queued": frozenset({"applied", "apply_failed", "dropped"}),
        # Back to `queued` when the target moved under a candidate: it is rebuilt and re-gated.
        "applied": frozenset({"verified", "quarantined", "queued", "apply_failed"}),
        "verified": frozenset({"committed", "quarantined", "queued"}),
        "committed": frozenset({"rolled_back"}),
        "apply_failed": frozenset({"dropped"}),
        "quarantined": frozenset({"dropped"}),
        "rolled_back": frozenset(),
        "dropped": frozenset(),
    },
    "worker": {
        "SPAWNING": frozenset({"IDLE", "TERMINATED"}),
        "IDLE": frozenset({"BUSY", "DRAINING", "TERMINATED"}),
        "BUSY": frozenset({"IDLE", "DRAINING", "TERMINATED"}),
        "DRAINING": frozenset({"TERMINATED"}),
        "TERMINATED": frozenset(),
    },
    "run": {
        "pending": frozenset({"running", "cancelled"}),
        "running": frozenset({"completed", "failed", "cancelled"}),
        "completed": frozenset(),
        "failed": frozenset(),
        "cancelled": frozenset(),
    },
}

TERMINAL = {kind: frozenset(s for s, nxt in table.items() if not nxt) for kind, table in TRANSITIONS.items()}


def check(kind: str, item_id: str, current: str | None, new: str) -> None:
    """Refuse an illegal transition with a message naming the item, its state and the target."""
    if kind not in TRANSITIONS:
        raise TransitionError(f"unknown kind of ledger item: {kind}")
    if current is None:
        if new != INITIAL[kind]:
            raise TransitionError(f"{kind} {item_id} does not exist yet; it can only start as {INITIAL[kind]}")
        return
    if new == current:
        return  # an update of fields within a state (a heartbeat-free note, a new log)
    allowed = TRANSITIONS[kind].get(current)
    if allowed is None:
        raise TransitionError(f"{kind} {item_id} is in unknown state {current!r}")
    if new not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing (final)"
        raise TransitionError(f"{kind} {item_id} is {current}; it cannot become {new} (allowed: {options})")
