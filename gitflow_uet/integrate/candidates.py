"""Candidates: the commit that would become the target's new tip, and its gate run.

Shared by the integrator (a patch merged onto the tip) and rollback (a revert on the tip):
both build a commit with the tip as its only parent, gate exactly that commit in the
reused integration worktree, and move the target only to it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from gitflow_uet import faults
from gitflow_uet.errors import GitError, UsageError
from gitflow_uet.integrate.gates import GateResult, check_names, run_gates
from gitflow_uet.git.merge import changed_paths_between
from gitflow_uet.git.sync import dirty_paths, index_matches
from gitflow_uet.git.worktrees import (Worktree, add_detached_worktree, fast_forward_checkout, remove_worktree,
                                       reset_detached)
from gitflow_uet.ledger.store import Blob
from gitflow_uet.project import Project

INTEGRATE_WORKTREE = ".integrate"
EventSink = Callable[[str, dict[str, Any]], None]


class CheckoutDirty(UsageError):
    """The target's checkout has uncommitted changes where the target is about to change."""


def read_target(project: Project) -> str:
    tip = project.repo.read_ref(project.target_ref)
    if tip is None:
        raise UsageError(f"the target branch {project.config.target!r} does not exist (target: in .uet/config.yaml)")
    return tip


def commit_message(subject: str, trailers: list[tuple[str, str]]) -> str:
    return subject + "\n\n" + "".join(f"{key}: {value}\n" for key, value in trailers)


def gate_names(project: Project, ws_id: str) -> list[str]:
    """`required_gates` first, then the workstream's own `gates:` when its spec sets them,
    else `integrate_gates`: a spec may add gates, never remove the required ones."""
    spec = project.specs.get(ws_id)
    own = spec.gates if spec is not None and spec.gates is not None else project.config.integrate_gates
    return list(dict.fromkeys([*project.config.mandatory_gates, *own]))


def gate_budget(project: Project, names: list[str]) -> float:
    """The longest a gate run can take: the integrator's lease must outlive it."""
    return float(project.config.gate_timeout + 5) * len(names)


def integration_worktree(project: Project, commit: str) -> Path:
    """The integrator's detached worktree, holding exactly `commit`; created on first use."""
    repo = project.repo
    path = project.worktrees_dir / INTEGRATE_WORKTREE
    if (path / ".git").is_file():
        try:
            reset_detached(repo, path, commit)
            return path
        except GitError:
            pass  # half-made by a killed run, or deleted behind git's back: make it anew
    remove_worktree(repo, path)
    add_detached_worktree(repo, path, commit)
    return path


def gate_candidate(
    project: Project,
    commit: str,
    names: list[str],
    *,
    on_event: EventSink | None = None,
    env_extra: dict[str, str] | None = None,
) -> tuple[bool, list[GateResult]]:
    """Run the gates `names` on exactly `commit`; (all green, results). The first red gate
    ends the run. No gates: green, and no worktree is touched at all. After the gates, red
    or green, the worktree is cleaned: what they left (builds, caches, junk) goes now,
    not at the next integration."""
    if not names:
        return True, []
    config = project.config
    check_names(names, config.gates)
    path = integration_worktree(project, commit)
    try:
        return _run_gates(project, commit, names, path, on_event, env_extra)
    finally:
        clean_integration_worktree(project, path, commit)


def clean_integration_worktree(project: Project, path: Path, commit: str) -> None:
    """Put the integration worktree back to exactly `commit` (`git clean -ffdx` and a forced
    checkout); when git cannot (a gate made a folder unreadable), remove it: the next gate
    run makes it anew. A gate that deleted the worktree's `.git` file would have git find
    the enclosing repository instead, so then it is only removed, never reset."""
    try:
        if (path / ".git").is_file():
            reset_detached(project.repo, path, commit)
            return
    except GitError:
        pass
    try:
        remove_worktree(project.repo, path)
    except GitError:
        # Not a worktree git can remove any more: the folder is ours (the tool made it
        # for its gates); delete it and let git forget it.
        shutil.rmtree(path, ignore_errors=True)
        try:
            remove_worktree(project.repo, path)
        except GitError:
            pass  # integration_worktree() retries at the next gate run


def _run_gates(project: Project, commit: str, names: list[str], path: Path, on_event: EventSink | None,
               env_extra: dict[str, str] | None) -> tuple[bool, list[GateResult]]:
    config = project.config
    results: list[GateResult] = []
    for name in names:
        if on_event:
            on_event("gate-started", {"gate": name, "commit": commit})
        # One gate per call: each gets its own started/finished events and kill point.
        result = run_gates([name], config.gates, path, timeout=config.gate_timeout,
                           max_output=config.max_output_bytes,
                           env_extra={"UET_CANDIDATE": commit, **(env_extra or {})})[0]
        results.append(result)
        faults.point("candidate.gate-finished")
        if on_event:
            on_event("gate-finished", {"gate": name, "commit": commit, "ok": result.ok, "exit": result.exit,
                                       "seconds": round(result.seconds, 3), "timed_out": result.timed_out,
                                       "summary": result.summary()})
        if not result.ok:
            return False, results
    return True, results


def gates_field(results: list[GateResult]) -> dict[str, Any]:
    """The patch record's `gates`: per gate `{ok, seconds, exit, log}` (log a stored blob)."""
    return {r.name: {"ok": r.ok, "seconds": round(r.seconds, 3), "exit": r.exit, "timed_out": r.timed_out,
                     "truncated": r.truncated, "log": Blob(r.output)} for r in results}


def failure_reasons(results: list[GateResult], timeout: int) -> list[str]:
    reasons = []
    for r in results:
        if r.ok:
            continue
        if r.timed_out:
            reasons.append(f"gate {r.name} failed (timed out after {timeout}s)")
        else:
            reasons.append(f"gate {r.name} failed (exit {r.exit})")
    return reasons


def guard_checkout(checkout: Worktree | None, project: Project, paths: list[str], what: str) -> None:
    """Refuse before anything moves when the target's checkout has uncommitted changes
    (staged, unstaged, untracked or ignored files) in a path that is about to change."""
    if checkout is None or not paths:
        return
    clash = sorted(dirty_paths(project.repo, checkout.path, paths))
    if clash:
        shown = ", ".join(clash[:10]) + (f" (+{len(clash) - 10} more)" if len(clash) > 10 else "")
        raise CheckoutDirty(
            f"{what}: {project.config.target} is checked out at {checkout.path} with uncommitted changes to "
            f"{shown}, which it would change; commit or stash them and run again (nothing was moved)")


def sync_checkout(project: Project, checkout: Worktree | None, old: str, new: str,
                  *, only_if_behind: bool = False) -> tuple[bool, str | None]:
    """Bring the target's checkout from `old` to `new` like `git merge --ff-only` would;
    (whether it moved, a warning when it cannot follow).

    `only_if_behind` (a rerun after a kill between the ref move and the sync): do it only
    if the index still holds `old`'s version of every path that changed; once synced it
    holds `new`'s.
    """
    if checkout is None or old == new:
        return False, None
    repo = project.repo
    if only_if_behind:
        paths = changed_paths_between(repo, old, new)
        if not paths or not index_matches(repo, checkout.path, old, paths) \
                or index_matches(repo, checkout.path, new, paths):
            return False, None
    try:
        fast_forward_checkout(repo, checkout.path, old, new)
    except GitError as err:
        return False, (f"{project.config.target} moved to {new[:12]} but its checkout at {checkout.path} could not "
                       f"follow ({err}); there, run: git read-tree -m -u {old} {new}")
    return True, None


def note_text(patch: dict[str, Any]) -> str:
    gates = patch.get("gates") or {}
    passed = ",".join(f"{name}={'ok' if g.get('ok') else 'failed'}" for name, g in sorted(gates.items())) or "none"
    return (f"Uet-Workstream: {patch['workstream']}\n"
            f"Uet-Patch: {patch['id']}\n"
            f"Uet-Patch-Sha256: {patch.get('sha256', '')}\n"
            f"Uet-Gates: {passed}\n")
