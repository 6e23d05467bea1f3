"""The report of one `git uet run`: who ran what, when, for how long, what waited, and
what the parallelism bought. Built from the ledger only, so any past run can be reported.

Sources: the run record (meta, outcome, usage, and its `timeline` blob: one span per
workstream per worker); the ledger state *as of the run's last entry* (so a later run or
reset does not overwrite this run's task and gate times); and the ledger log between the
run's start and end, whose transition times give the waits (run start → started,
submitted → integrated) and the integrator's lane. The integrator lane comes from patch
transitions rather than the timeline's integrator spans: a span there covers one whole
`integrate()` call, which may land several patches, while the patch transitions time
each one.

All times in the report are seconds from the run's start.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from gitflow_uet.errors import SpecError, UetError, UsageError
from gitflow_uet.ledger.store import State, iter_changes
from gitflow_uet.project import Project
from gitflow_uet.spec.workstream import Workstream

FINISHED = ("completed", "failed", "cancelled")
VERDICTS = ("integrated", "quarantined")          # what the integrator turns `submitted` into
PATCH_VERDICTS = ("committed", "quarantined", "apply_failed", "dropped")


def build_report(project: Project, run_id: str | None = None) -> dict[str, Any]:
    """The report of the newest run, or of `run_id` (a full id or a unique prefix)."""
    state = project.ledger.state()
    run = _find_run(state, run_id)
    t0 = epoch(run.get("started") or run["created"])
    history = _run_history(project, run, t0)
    snapshot = State(project.repo, history["sha"]) if history["sha"] else state
    ids = sorted(set(run.get("workstreams") or []) | {i for v in (run.get("outcome") or {}).values() for i in v})
    outcome = {i: s for s, members in (run.get("outcome") or {}).items() for i in members}
    timeline = _timeline(state, run)
    spans = {s["workstream"]: s for s in timeline if s.get("worker") != "integrator"}
    records = {i: snapshot.get("workstream", i) or {} for i in ids}
    patches = {i: snapshot.get("patch", r["patch"]) if r.get("patch") else None for i, r in records.items()}
    usage = (run.get("usage") or {}).get("workstreams") or {}
    specs = _specs(project)
    rows = [_row(ws_id, records[ws_id], patches[ws_id], outcome.get(ws_id) or records[ws_id].get("state")
                 or "planned", spans.get(ws_id), history["times"].get(ws_id, {}), t0, usage.get(ws_id))
            for ws_id in ids]
    for row in rows:
        if row["id"] in specs:
            _follow_spec(row, specs[row["id"]], records[row["id"]])
    report: dict[str, Any] = {
        "run": _meta(run),
        "workstreams": rows,
        "integrations": _integrations(history["patch_times"], patches, t0),
        "totals": _totals(run, rows),
        "plan": _plan(project, specs, rows),
    }
    return report


def epoch(iso: str) -> float:
    """An ISO time as the ledger writes it (`...T12:00:00.123Z`) in epoch seconds."""
    return _dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _find_run(state: State, run_id: str | None) -> dict[str, Any]:
    runs = state.all("run")
    if not runs:
        raise UsageError("no run recorded yet; `git uet run` first")
    if run_id is None:
        return max(runs, key=lambda r: r["id"])  # ULIDs sort by creation time
    exact = state.get("run", run_id)
    if exact is not None:
        return exact
    found = [r for r in runs if r["id"].lower().startswith(run_id.lower())]
    if len(found) != 1:
        why = "is ambiguous" if found else "is not a recorded run"
        raise UsageError(f"run {run_id!r} {why} (runs: {', '.join(r['id'] for r in runs[-5:])})")
    return found[0]


def _run_history(project: Project, run: dict[str, Any], t0: float) -> dict[str, Any]:
    """Transition times of this run's workstreams and patches, and the ledger commit of
    its last entry (the state to read records from)."""
    ids = set(run.get("workstreams") or [])
    times: dict[str, dict[str, float]] = {}
    patch_times: dict[str, dict[str, float]] = {}
    sha: str | None = None
    end = None
    # Newest first: the run's own last entry marks where its window ends.
    for entry, change in iter_changes(project.ledger.log()):
        if change["kind"] == "run" and change["id"] == run["id"]:
            if sha is None and change["to"] in FINISHED:
                sha, end = entry.sha, epoch(change["time"])
            continue
        when = epoch(change["time"])
        if when < t0 - 1.0 or (end is not None and when > end):
            continue
        if change["kind"] == "workstream" and change["id"] in ids:
            # Walking backwards: the earliest time of each state wins by overwriting.
            times.setdefault(change["id"], {})[change["to"]] = when
        elif change["kind"] == "patch":
            patch_times.setdefault(change["id"], {})[change["to"]] = when
    return {"sha": sha, "times": times, "patch_times": patch_times}


def _timeline(state: State, run: dict[str, Any]) -> list[dict[str, Any]]:
    ref = run.get("timeline")
    if not isinstance(ref, dict) or "blob" not in ref:
        return []
    try:
        spans = json.loads(state.blob(ref["blob"]))
    except (ValueError, UetError):  # a missing or garbled blob makes a thinner report, not none
        return []
    # A workstream run twice (recovered) keeps its last span.
    return sorted((s for s in spans if isinstance(s, dict)), key=lambda s: s.get("start", 0))


def _rel(when: float | None, t0: float) -> float | None:
    return None if when is None else round(when - t0, 3)


def _row(ws_id: str, record: dict[str, Any], patch: dict[str, Any] | None, outcome: str,
         span: dict[str, Any] | None, times: dict[str, float], t0: float,
         usage: dict[str, Any] | None) -> dict[str, Any]:
    if span is not None:
        start, end, worker = span.get("start"), span.get("end"), span.get("worker")
    else:  # a run without a timeline (killed): the ledger's own transitions
        start = times.get("running")
        end = next((times[s] for s in ("submitted", "failed", "quarantined") if s in times), None)
        worker = record.get("worker") if record.get("run") else None
    submitted = times.get("submitted")
    verdict = next((times[s] for s in VERDICTS if s in times), None) if submitted else None
    tasks = {tid: {k: t.get(k) for k in ("state", "seconds", "exit", "timed_out", "attempts", "rounds", "error")}
             for tid, t in (record.get("tasks") or {}).items()}
    gates = {name: {k: g.get(k) for k in ("ok", "seconds", "exit", "timed_out")}
             for name, g in ((patch or {}).get("gates") or {}).items()}
    return {
        "id": ws_id,
        "title": record.get("title") or ws_id,
        "outcome": outcome,
        "worker": worker,
        "start": _rel(start, t0),
        "end": _rel(end, t0),
        "duration": round(end - start, 3) if start is not None and end is not None else None,
        "wait": _rel(start, t0),
        "submitted": _rel(submitted, t0),
        "verdict": _rel(verdict, t0),
        "queue_wait": round(verdict - submitted, 3) if submitted is not None and verdict is not None else None,
        "tasks": tasks,
        "task_seconds": round(sum(t.get("seconds") or 0.0 for t in tasks.values()), 3),
        "gates": gates,
        "gate_seconds": round(sum(g.get("seconds") or 0.0 for g in gates.values()), 3),
        "usage": usage,
        "patch": (patch or {}).get("id"),
        "patch_state": (patch or {}).get("state"),
        "commit": record.get("commit") if outcome == "integrated" else None,
        "reasons": list(record.get("reasons") or []) if outcome != "integrated" else [],
    }


def _follow_spec(row: dict[str, Any], spec: Workstream, record: dict[str, Any]) -> None:
    """Tasks in the spec's order (the record's keys come back sorted); the spec's title for
    a workstream the ledger never recorded (blocked before its first move)."""
    order = {task.id: n for n, task in enumerate(spec.tasks)}
    row["tasks"] = dict(sorted(row["tasks"].items(), key=lambda item: order.get(item[0], len(order))))
    if not record.get("title"):
        row["title"] = spec.title


def _integrations(patch_times: dict[str, dict[str, float]], patches: dict[str, dict[str, Any] | None],
                  t0: float) -> list[dict[str, Any]]:
    """The integrator's lane: one span per patch it decided, from when it took the patch
    (its candidate recorded, or the later of queued and the previous verdict) to the verdict."""
    decided = []
    for ws_id, patch in patches.items():
        times = patch_times.get(patch["id"], {}) if patch else {}
        verdict = next(((s, times[s]) for s in PATCH_VERDICTS if s in times), None)
        if patch is None or verdict is None or "queued" not in times:
            continue
        decided.append((verdict[1], ws_id, verdict[0], times))
    spans: list[dict[str, Any]] = []
    previous = t0
    for when, ws_id, outcome, times in sorted(decided):
        begun = times.get("applied", max(times["queued"], previous))
        spans.append({"workstream": ws_id, "start": _rel(begun, t0), "end": _rel(when, t0),
                      "seconds": round(when - begun, 3),
                      "outcome": "integrated" if outcome == "committed" else "quarantined",
                      "patch_state": outcome})
        previous = when
    return spans


def _meta(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": run["id"], "state": run["state"], "host": run.get("host"), "workers": run.get("workers"),
        "started": run.get("started"), "finished": run.get("finished"), "seconds": run.get("seconds"),
        "breaker": run.get("breaker") or {}, "errors": run.get("errors") or [],
    }


def _totals(run: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    task_seconds = run.get("task_seconds")
    if task_seconds is None:
        task_seconds = sum(r["task_seconds"] for r in rows)
    seconds = run.get("seconds") or max((r["verdict"] or r["end"] or 0.0 for r in rows), default=0.0)
    waits = [r["wait"] for r in rows if r["wait"] is not None]
    queue = [r["queue_wait"] for r in rows if r["queue_wait"] is not None]
    usage = run.get("usage") or {}
    return {
        "workstreams": len(rows),
        "outcome": dict(sorted(counts.items())),
        "seconds": round(seconds, 3),
        "sum_task_seconds": round(task_seconds, 3),
        # The parallel speedup achieved: task time done per second of wall time.
        "speedup": round(task_seconds / seconds, 2) if seconds else 0.0,
        "gate_seconds": round(sum(r["gate_seconds"] for r in rows), 3),
        "mean_wait": round(sum(waits) / len(waits), 3) if waits else None,
        "mean_queue_wait": round(sum(queue) / len(queue), 3) if queue else None,
        "max_queue_wait": max(queue) if queue else None,
        "usage": {k: usage.get(k) for k in ("tokens", "cost_usd", "unmetered", "limits")},
    }


def _specs(project: Project) -> dict[str, Workstream]:
    """The current specs; none when they no longer load (the report is about the past)."""
    try:
        return dict(project.specs)
    except SpecError:
        return {}


def _plan(project: Project, specs: dict[str, Workstream], rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Waves, edges and critical path of the current specs, when there are any."""
    from gitflow_uet.spec.plan import plan_from

    if not specs:
        return None
    try:
        plan = plan_from(specs, project.config.gates)
    except SpecError:
        return None
    by_id = {r["id"]: r for r in rows}
    path = plan.critical_path
    first, last = by_id.get(path[0]) if path else None, by_id.get(path[-1]) if path else None
    begun = first["start"] if first else None
    done = (last["verdict"] if last["verdict"] is not None else last["end"]) if last else None
    return {
        "waves": plan.waves,
        "edges": sorted([dep, ws_id] for ws_id, ws in specs.items() for dep in ws.depends_on),
        "critical_path": path,
        "critical_estimate_seconds": plan.critical_seconds,
        # What the path actually took: its first start to its last verdict, so the waits
        # to be scheduled and to land count too.
        "critical_actual_seconds": round(done - begun, 3) if begun is not None and done is not None else None,
    }
