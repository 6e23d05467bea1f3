"""The lifecycle of one workstream: start (branch + worktree), submit (patch), reset.

Git objects are made first and the ledger records them second, so a process killed in
between leaves something the next run adopts (a branch and worktree the ledger does not
know yet) rather than a ledger entry pointing at nothing. Where a ref must move with the
ledger (a quarantined branch resumed, a branch dropped on reset), it moves in the same
ref transaction as the ledger entry.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitflow_uet import faults
from gitflow_uet.workstream import pathrules, secrets
from gitflow_uet.errors import TransitionError, UetError, UsageError
from gitflow_uet.git import RefMoved, RefUpdate, admin
from gitflow_uet.git.diffs import diff_text, is_ancestor, merge_base
from gitflow_uet.git.replay import replay
from gitflow_uet.git.uncommitted import added_lines, detach_head
from gitflow_uet.git.worktrees import (
    add_branch_worktree, changed_paths, checkout_of, commit_all, keep_commit, list_worktrees, move_checkout,
    prepare_sparse, remove_worktree,
)
from gitflow_uet.ledger.store import Batch, Blob, Change, State
from gitflow_uet.workstream.patchcheck import MAX_REASONS, check_patch, recent_committed_diffs
from gitflow_uet.project import Project
from gitflow_uet.workstream.quarantine import branch_ref, quarantine, quarantine_ref
from gitflow_uet.spec.scope import cone_dirs

RESETTABLE = ("failed", "quarantined", "blocked", "rolled_back")
# Patch states that still belong to the workstream's current attempt; reset drops them.
OPEN_PATCH_STATES = ("created", "validated", "queued", "apply_failed", "quarantined")


@dataclass(frozen=True)
class StartResult:
    path: Path
    created: bool  # False: it was already running, nothing changed


@dataclass(frozen=True)
class SubmitResult:
    patch_id: str
    ok: bool
    reasons: list[str] = field(default_factory=list)  # `rule: path[:line]`, when refused
    queued: bool = False


class _AlreadyRunning(Exception):
    """Raised inside a ledger decision: another process recorded the start first."""


# -- start -----------------------------------------------------------------------------------

def start(project: Project, ws_id: str, *, force: bool = False, from_quarantine: bool = False,
          extra: dict[str, Any] | None = None) -> StartResult:
    """Give a workstream its branch and worktree and record it running. Idempotent: a
    running workstream returns its worktree, and leftovers of a killed start are adopted.
    `extra` fields (who runs it: worker, run) are recorded with the start itself."""
    ws = project.spec(ws_id)
    repo, config = project.repo, project.config
    state = project.ledger.state()
    record = state.get("workstream", ws_id) or {}
    current = record.get("state")
    if current == "running":
        return StartResult(_ensure_worktree(project, ws_id, record), False)
    _check_startable(ws_id, current, from_quarantine)
    if not force:
        deps = {dep: state.state_of("workstream", dep) or "planned" for dep in ws.depends_on}
        if waiting := [f"{dep} ({now})" for dep, now in deps.items() if now != "integrated"]:
            raise UsageError(f"workstream {ws_id} depends on {', '.join(waiting)}, not integrated yet "
                             "(--force starts it anyway)")
    target_tip = repo.read_ref(project.target_ref)
    if target_tip is None:
        raise UsageError(f"target branch {config.target!r} does not exist (config: target)")

    branch = branch_ref(ws_id)
    existing = repo.read_ref(branch)
    q_tip = repo.read_ref(quarantine_ref(ws_id)) if from_quarantine else None
    if from_quarantine:
        if q_tip is None:
            raise UsageError(f"workstream {ws_id} has no quarantined branch uet/quarantine/{ws_id} to resume")
        if existing is not None and existing != q_tip:
            raise UsageError(f"branch uet/{ws_id} already exists and is not the quarantined commit; "
                             f"`git uet reset {ws_id}` first")
        base = record.get("base") or merge_base(repo, q_tip, target_tip) or target_tip
        start_at = q_tip
    elif existing is not None:
        # A start killed before its ledger entry, or a worker recovered back to planned:
        # the branch is adopted if it grew from the target's history.
        shared = merge_base(repo, existing, target_tip)
        if shared is None:
            raise UsageError(f"branch uet/{ws_id} exists but shares no history with {config.target}; "
                             f"delete it or `git uet reset {ws_id}`")
        old_base = record.get("base")
        base = old_base if old_base and is_ancestor(repo, old_base, existing) else shared
        start_at = existing
    else:
        base = start_at = target_tip

    path = project.worktrees_dir / ws_id
    made_branch = existing is None
    if config.sparse_worktrees:
        prepare_sparse(repo)
    made_tree = _add_worktree(project, ws_id, path, start_at, create=made_branch,
                              sparse=cone_dirs(ws.scope, ws.context) if config.sparse_worktrees else None)
    faults.point("start.after-worktree")

    fields: dict[str, Any] = {"title": ws.title, "branch": f"uet/{ws_id}", "base": base, "worktree": _relative(project, path),
              "patch": None, "reasons": [],
              # What git runs or obeys (shared config, hooks, info/*), before any task runs:
              # submit compares (see `_admin_changes`).
              "guard": admin.digest(repo, path)}

    def decide(st: State) -> Batch:
        rec = st.get("workstream", ws_id) or {}
        now = rec.get("state")
        if now == "running":
            raise _AlreadyRunning()
        changes: list[Change] = []
        attempt = int(rec.get("attempt") or 1)
        if now is None:
            changes.append(Change("workstream", ws_id, "planned", "start", {"title": ws.title}, expect=None))
        elif now == "quarantined" and from_quarantine:  # the reset, done implicitly
            attempt += 1
            changes += _drop_patch(st, ws_id, "reset")
            changes.append(Change("workstream", ws_id, "planned", "reset", {"reasons": []}, expect="quarantined"))
        changes.append(Change("workstream", ws_id, "running", "start",
                              {**fields, **(extra or {}), "attempt": attempt}, expect="planned"))
        refs = [RefUpdate(quarantine_ref(ws_id), None, q_tip)] if q_tip is not None else []
        return Batch(changes, refs)

    try:
        project.ledger.update(decide)
    except _AlreadyRunning:
        # Someone else recorded the start (possibly adopting what we just made): theirs stands.
        rec = project.ledger.state().get("workstream", ws_id) or {}
        return StartResult(project.root / (rec.get("worktree") or _relative(project, path)), False)
    except UetError:
        if made_tree:
            remove_worktree(repo, path)
        if made_branch and (tip := repo.read_ref(branch)) is not None:
            repo.update_ref(branch, None, tip, f"uet: undo start of {ws_id}")
        raise
    return StartResult(path, True)


def ensure_started(project: Project, ws_id: str, *, force: bool = False) -> StartResult:
    """For the scheduler: `start`, which returns a running workstream's worktree as is."""
    return start(project, ws_id, force=force)


def _check_startable(ws_id: str, current: str | None, from_quarantine: bool) -> None:
    if current in (("planned", "quarantined") if from_quarantine else (None, "planned")):
        return
    if from_quarantine:
        raise TransitionError(f"workstream {ws_id} is {current or 'not started'}; --from-quarantine resumes "
                              "a quarantined workstream (or one reset to planned after quarantine)")
    hint = f"; `git uet reset {ws_id}` first" if current in RESETTABLE else ""
    if current == "quarantined":
        hint += f", or `git uet start --from-quarantine {ws_id}` to resume its branch"
    raise TransitionError(f"workstream {ws_id} is {current}; only a planned workstream can start{hint}")


def _add_worktree(project: Project, ws_id: str, path: Path, start_at: str, *, create: bool,
                  sparse: list[str] | None) -> bool:
    """Make the worktree unless the branch already has one; whether it was made here."""
    repo = project.repo
    # Only an existing branch can be checked out somewhere (the common case, a new branch,
    # costs no `worktree list`).
    held = checkout_of(repo, branch_ref(ws_id)) if repo.read_ref(branch_ref(ws_id)) else None
    if held is not None and held.path.exists():
        if held.path.resolve() != path.resolve():
            raise UsageError(f"branch uet/{ws_id} is checked out in {held.path}; remove that worktree first")
        return False
    if path.exists():
        # Never cleared for the user: it may be their files, or another checkout.
        if any(path.iterdir()):
            raise UsageError(f"{_relative(project, path)} exists and is not a worktree of uet/{ws_id}; move it away")
    elif (repo.common_dir / "worktrees" / path.name).exists():
        remove_worktree(repo, path)  # a folder deleted by hand is still registered: prune it
    add_branch_worktree(repo, path, f"uet/{ws_id}", start_at, sparse_dirs=sparse, create=create)
    return True


def _ensure_worktree(project: Project, ws_id: str, record: dict[str, Any]) -> Path:
    """The running workstream's worktree, re-made if its folder was deleted by hand."""
    path = project.root / (record.get("worktree") or _relative(project, project.worktrees_dir / ws_id))
    if not path.exists() and project.repo.read_ref(branch_ref(ws_id)) is not None:
        ws = project.spec(ws_id)
        sparse = cone_dirs(ws.scope, ws.context) if project.config.sparse_worktrees else None
        _add_worktree(project, ws_id, path, "", create=False, sparse=sparse)
    return path


def _relative(project: Project, path: Path) -> str:
    return Path(os.path.relpath(path, project.root)).as_posix()


def workstream_here(project: Project) -> str:
    """The workstream whose worktree the command runs in (for `submit` with no id)."""
    here = project.repo.here.resolve()
    if here == project.root.resolve():
        raise UsageError("name the workstream (or run this inside a workstream's worktree)")
    for record in project.ledger.state().all("workstream"):
        if record.get("worktree") and (project.root / record["worktree"]).resolve() == here:
            return str(record["id"])
    tree = next((w for w in list_worktrees(project.repo) if w.path.resolve() == here), None)
    if tree is not None and tree.branch and tree.branch.startswith("refs/heads/uet/") \
            and not tree.branch.startswith("refs/heads/uet/quarantine/"):
        return tree.branch.removeprefix("refs/heads/uet/")
    raise UsageError(f"{here} is not the worktree of a workstream; name the workstream")


# -- submit ----------------------------------------------------------------------------------

def submit(project: Project, ws_id: str) -> SubmitResult:
    """Commit what the worktree holds, take the patch base..tip, check it, and queue it
    (or quarantine the workstream with the reasons). The worktree stays while queued."""
    from ulid import ULID

    ws = project.spec(ws_id)
    repo = project.repo
    state = project.ledger.state()
    record = state.get("workstream", ws_id) or {}
    if record.get("state") != "running":
        raise TransitionError(f"workstream {ws_id} is {record.get('state') or 'not started'}; "
                              f"only a running workstream can be submitted (`git uet start {ws_id}`)")
    branch = branch_ref(ws_id)
    if record.get("worktree"):
        path = project.root / record["worktree"]
        if path.exists():
            held = checkout_of(repo, branch)
            if held is None or held.path.resolve() != path.resolve():
                raise UsageError(f"{record['worktree']} is no longer on branch uet/{ws_id}; "
                                 f"check out uet/{ws_id} there before submitting")
            # Scanned before `git add` hashes anything: a refused credential must not be
            # left in the object store.
            found = [f for rel, lines in added_lines(repo, path) for f in secrets.scan_lines(rel, lines)]
            if found:
                return _refuse_uncommitted(project, ws_id, record, path, found)
            commit_all(repo, path, f"{ws.title} ({ws_id})")
    head = repo.read_ref(branch)
    if head is None:
        raise UsageError(f"branch uet/{ws_id} is missing; `git uet fsck` can tell what happened")
    # The patch is what the branch adds over its merge-base with the current target: a
    # branch rebased (or refreshed) onto a newer target carries only its own work.
    target_tip = repo.read_ref(project.target_ref)
    base = (merge_base(repo, head, target_tip) if target_tip else None) or record["base"]
    diff = diff_text(repo, base, head)
    report = check_patch(repo, base=base, head=head, diff=diff, scope=ws.scope,
                         policy=project.config.patch_policy.narrowed(ws.policy),
                         recent_committed_diffs=recent_committed_diffs(state),
                         protected=project.config.protected, gate_commands=list(project.config.gates.values()),
                         allow=ws.allow)
    if tampered := _admin_changes(project, state, ws_id, record):
        report = replace(report, ok=False, reasons=[*report.reasons, *tampered])
    patch_id = str(ULID())
    fields: dict[str, Any] = {
        "workstream": ws_id, "sha256": hashlib.sha256(diff).hexdigest(), "bytes": len(diff), "base": base,
        "head": head, "files": report.files, "lines": report.lines, "priority": ws.priority_rank,
        "depends_on": list(ws.depends_on)}
    # refs/uet travels with `git push`: a refused diff (a credential, a binary, anything) is
    # recorded by its metadata only. The quarantined branch still holds the commits.
    if report.ok:
        fields["diff"] = Blob(diff, verbatim=True)

    if report.ok:
        project.ledger.update(lambda st: [
            *_drop_patch(st, ws_id, "resubmit", ("created",)),
            Change("workstream", ws_id, "submitted", "submit", {"patch": patch_id, "base": base}, expect="running"),
            Change("patch", patch_id, "created", "submit", fields, expect=None),
            Change("patch", patch_id, "validated", "submit"),
            Change("patch", patch_id, "queued", "submit")])
        return SubmitResult(patch_id, True, [], True)

    # The quarantine helper needs the patch to exist; a kill between the two batches leaves
    # a `created` patch that the next submit drops.
    project.ledger.update(lambda st: [
        *_drop_patch(st, ws_id, "resubmit", ("created",)),
        Change("workstream", ws_id, "running", "submit", {"patch": patch_id, "base": base}, expect="running"),
        Change("patch", patch_id, "created", "submit", fields, expect=None)])
    quarantine(project, ws_id, reasons=report.reasons, event="patchcheck", patch_id=patch_id)
    return SubmitResult(patch_id, False, list(report.reasons), False)


def _admin_changes(project: Project, state: State, ws_id: str, record: dict[str, Any]) -> list[str]:
    """Reasons, one per file, when the repository's administrative files (shared config,
    hooks, info/attributes, info/exclude: what makes git run code or change its behaviour)
    differ from the digest recorded when this workstream started. A task can write them
    through its worktree's gitdir; nothing in the patch shows it.

    The digest is this workstream's own, taken at its start, so the change happened while it
    ran; when other workstreams ran at the same time, any of them may have made it, and
    each is quarantined when it submits: the reason names them."""
    before = record.get("guard")
    if not isinstance(before, dict):
        return []  # started by a version that recorded none
    path = project.root / record["worktree"] if record.get("worktree") else None
    changed = admin.changes(before, admin.digest(project.repo, path))
    if not changed:
        return []
    others = sorted(str(r["id"]) for r in state.all("workstream")
                    if r.get("state") in ("running", "submitted") and r["id"] != ws_id)
    also = f" (also running meanwhile, any may have made it: {', '.join(others)})" if others else ""
    return [f"git-admin: {change} while {ws_id} ran{also}" for change in changed]


def _refuse_uncommitted(project: Project, ws_id: str, record: dict[str, Any], path: Path,
                        found: list[secrets.Finding]) -> SubmitResult:
    """Quarantine without committing: the worktree keeps its changes, detached, for the
    user to clean; the ledger gets where the credentials are, never their values."""
    from ulid import ULID

    detach_head(project.repo, path)
    files = sorted({f.path for f in found})
    # What else is wrong with those paths is said now, not after the secrets are gone.
    allow_control = project.config.patch_policy.allow_control_chars
    reasons = [r for name in files for r in pathrules.path_reasons(name, allow_control=allow_control)]
    reasons = (reasons + [f"secret: {f}" for f in found])[:MAX_REASONS]
    reasons.append(f"uncommitted: nothing was committed; the changes stay in {record['worktree']} "
                   "(detached): remove the secrets there")
    patch_id = str(ULID())
    fields = {"workstream": ws_id, "base": record["base"], "head": project.repo.read_ref(branch_ref(ws_id)),
              "files": files, "uncommitted": True}
    project.ledger.update(lambda st: [
        *_drop_patch(st, ws_id, "resubmit", ("created",)),
        Change("workstream", ws_id, "running", "submit", {"patch": patch_id}, expect="running"),
        Change("patch", patch_id, "created", "submit", fields, expect=None)])
    quarantine(project, ws_id, reasons=reasons, event="patchcheck", patch_id=patch_id, keep_worktree=True)
    return SubmitResult(patch_id, False, reasons, False)


def _drop_patch(state: State, ws_id: str, event: str, among: tuple[str, ...] = OPEN_PATCH_STATES) -> list[Change]:
    """Drop the workstream's current patch if it is in one of the states `among`."""
    patch = (state.get("workstream", ws_id) or {}).get("patch")
    return [Change("patch", patch, "dropped", event)] if patch and state.state_of("patch", patch) in among else []


# -- refresh ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RefreshResult:
    old: str
    new: str | None  # the new tip, None on conflict (nothing changed)
    onto: str
    commits: int = 0
    conflicts: list[str] = field(default_factory=list)


def refresh(project: Project, ws_id: str) -> RefreshResult:
    """Rebase a running workstream onto the current target, from objects alone (no hook,
    filter or driver runs). On a conflict nothing changes: the conflicting paths are
    returned. Its worktree must be clean (commit first): it follows the branch."""
    repo = project.repo
    record = project.ledger.state().get("workstream", ws_id)
    if record is None:
        project.spec(ws_id)
    if (record or {}).get("state") != "running":
        raise TransitionError(f"workstream {ws_id} is {(record or {}).get('state') or 'not started'}; "
                              "only a running workstream can be refreshed")
    assert record is not None
    branch = branch_ref(ws_id)
    head = repo.read_ref(branch)
    onto = repo.read_ref(project.target_ref)
    if head is None or onto is None:
        raise UsageError(f"branch uet/{ws_id} or target {project.config.target!r} is missing")
    path = project.root / record["worktree"] if record.get("worktree") else None
    if path is not None and path.exists():
        held = checkout_of(repo, branch)
        if held is None or held.path.resolve() != path.resolve():
            raise UsageError(f"{record['worktree']} is no longer on branch uet/{ws_id}; check it out there first")
        if dirty := sorted(changed_paths(repo, path)):
            raise UsageError(f"{record['worktree']} has uncommitted changes ({', '.join(dirty[:5])}); "
                             f"commit them before `git uet refresh {ws_id}`")
    else:
        path = None
    base = merge_base(repo, head, onto)
    if base is None:
        raise UsageError(f"branch uet/{ws_id} shares no history with {project.config.target}")
    if base == onto:
        return RefreshResult(head, head, onto)
    replayed = replay(repo, base, head, onto)
    if replayed.tip is None:
        return RefreshResult(head, None, onto, 0, replayed.conflicts)
    new = replayed.tip
    if path is not None:
        # The checkout moves the branch with its files (one git call); then the ledger. A kill
        # in between leaves only the recorded base behind, which submit recomputes.
        move_checkout(repo, path, head, new)
        refs: list[RefUpdate] = []
    else:
        refs = [RefUpdate(branch, new, head)]
    project.ledger.update(lambda st: Batch(
        [Change("workstream", ws_id, "running", "refresh", {"base": onto}, expect="running")], refs))
    return RefreshResult(head, new, onto, replayed.commits)


# -- reset -----------------------------------------------------------------------------------

def reset(project: Project, ws_id: str) -> list[str]:
    """Back to planned for another attempt: its open patch dropped, its worktree and branch
    gone. `uet/quarantine/<id>` is kept so `start --from-quarantine` can resume it.
    Uncommitted work in its worktree is saved first: the refs holding it are returned."""
    repo = project.repo
    record = project.ledger.state().get("workstream", ws_id)
    if record is None:
        project.spec(ws_id)  # an unknown id is a usage error, not a transition one
        raise TransitionError(f"workstream {ws_id} has not started; there is nothing to reset")
    _check_resettable(ws_id, record["state"])
    trees = [project.root / record["worktree"]] if record.get("worktree") else []
    held = checkout_of(repo, branch_ref(ws_id))
    if held is not None and held.path.resolve() not in {t.resolve() for t in trees}:
        # Only our own worktree folder is cleared; any other checkout is the user's.
        if held.path.resolve() != (project.worktrees_dir / ws_id).resolve():
            raise UsageError(f"uet/{ws_id} is checked out in {held.path}; switch that checkout away first")
        trees.append(held.path)
    saved = [ref for path in trees if (ref := remove_worktree(repo, path, saved_as=ws_id))]

    def decide(st: State) -> Batch:
        rec = st.get("workstream", ws_id) or {}
        _check_resettable(ws_id, rec.get("state"))
        changes = _drop_patch(st, ws_id, "reset")
        changes.append(Change("workstream", ws_id, "planned", "reset", {
            "attempt": int(rec.get("attempt") or 1) + 1, "reasons": [], "worktree": None,
            "branch": None, "patch": None}, expect=rec.get("state")))
        # Dropped in the ledger's own transaction: a planned workstream with a stale branch
        # would have that branch adopted by the next start.
        tip = repo.read_ref(branch_ref(ws_id))
        return Batch(changes, [RefUpdate(branch_ref(ws_id), None, tip)] if tip else [])

    try:
        project.ledger.update(decide)
    except RefMoved as moved:
        raise UsageError(f"{moved.ref} moved while resetting {ws_id}; run the reset again") from None
    return saved


# -- abandon ---------------------------------------------------------------------------------

def abandon(project: Project, ws_id: str) -> tuple[list[str], int]:
    """Drop a running workstream (one started by hand, or whose run is gone) back to
    planned: its worktree and branch removed, never its work: uncommitted changes and the
    branch's commits are kept under `refs/uet-saved/<id>/<n>`. Returns (those refs, the
    new attempt number). A workstream a live worker holds is refused; one that is not
    running is reset (the same saving applies)."""
    from gitflow_uet.run.workers import is_alive

    repo = project.repo
    state = project.ledger.state()
    record = state.get("workstream", ws_id)
    if record is None:
        project.spec(ws_id)
        raise TransitionError(f"workstream {ws_id} has not started; there is nothing to abandon")
    if record["state"] != "running":
        if record["state"] not in RESETTABLE:
            raise TransitionError(f"workstream {ws_id} is {record['state']}; only a running, "
                                  f"{', '.join(RESETTABLE)} workstream can be abandoned")
        kept = reset(project, ws_id)
        return kept, int((project.ledger.state().get("workstream", ws_id) or {}).get("attempt") or 0)
    worker = state.get("worker", record["worker"]) if record.get("worker") else None
    if worker is not None and worker.get("state") != "TERMINATED" and is_alive(project, worker):
        raise UsageError(f"workstream {ws_id} is being run by worker {worker['id']} of a live `git uet run`; "
                         "stop that run first")
    # Files first, ledger second: a kill in between leaves it running with its work saved,
    # and abandoning again finishes.
    saved: list[str] = []
    if record.get("worktree") and (project.root / record["worktree"]).exists():
        held = checkout_of(repo, branch_ref(ws_id))
        path = project.root / record["worktree"]
        if held is not None and held.path.resolve() != path.resolve():
            raise UsageError(f"uet/{ws_id} is checked out in {held.path}; switch that checkout away first")
        if ref := remove_worktree(repo, path, saved_as=ws_id):
            saved.append(ref)
    tip = repo.read_ref(branch_ref(ws_id))
    if not saved and tip is not None and record.get("base") and tip != record["base"]:
        saved.append(keep_commit(repo, ws_id, tip))  # its commits, kept with the branch gone
    attempt = 0

    def decide(st: State) -> Batch:
        nonlocal attempt
        rec = st.get("workstream", ws_id) or {}
        attempt = int(rec.get("attempt") or 1) + 1
        where = f"; its work is in {', '.join(saved)}" if saved else ""
        changes = _drop_patch(st, ws_id, "abandon", ("created",))
        changes.append(Change("workstream", ws_id, "planned", "abandon", {
            "attempt": attempt, "reasons": [f"abandoned{where}"], "worktree": None, "branch": None,
            "patch": None, "worker": None}, expect="running"))
        now = repo.read_ref(branch_ref(ws_id))
        return Batch(changes, [RefUpdate(branch_ref(ws_id), None, now)] if now else [])

    try:
        project.ledger.update(decide)
    except RefMoved as moved:
        raise UsageError(f"{moved.ref} moved while abandoning {ws_id}; run the abandon again") from None
    return saved, attempt


def in_states(project: Project, states: tuple[str, ...]) -> list[str]:
    """Ids of the workstreams now in one of `states` (for `reset --failed`)."""
    if not states:
        return []
    return [str(r["id"]) for r in project.ledger.state().all("workstream") if r.get("state") in states]


def _check_resettable(ws_id: str, current: str | None) -> None:
    if current not in RESETTABLE:
        raise TransitionError(f"workstream {ws_id} is {current or 'not started'}; it cannot be reset "
                              f"(only {', '.join(RESETTABLE)} can)")
