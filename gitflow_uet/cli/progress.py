"""Progress of long work (`run`, `integrate`): a live table on a terminal, plain lines
when piped, one JSON event per line with --json. The core only emits events."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

# Events worth a plain line, and how to say them.
_PLAIN = {
    "run-start": "run {run}: {workers} workers, {n} workstreams",
    "ws-start": "{workstream}: started on {worker}",
    "task-end": "{workstream}: task {task} {result} ({seconds}s)",
    "fix-round": "{workstream}: fix round {round} for task {task}",
    "ws-failed": "{workstream}: failed: {reasons}",
    "ws-submitted": "{workstream}: submitted patch {patch}",
    "ws-quarantined": "{workstream}: quarantined: {reasons}",
    "ws-blocked": "{workstream}: blocked: {reason}",
    "ws-recovered": "{workstream}: recovered from a dead worker; redoing it",
    "ws-skipped": "{workstream}: skipped: {reason}",
    "ws-waiting": "{workstream}: {reason}",
    "ws-error": "{workstream}: error: {error}",
    "breaker": "circuit for tool {tool} {state}",
    "landed": "{workstream}: integrated as {short}",
    "quarantined": "{workstream}: quarantined by the integrator: {reasons}",
    "integrator-error": "integrator: {error}",
    "integrator-wait": "integrator: waiting: {reason}",
    "run-end": "run {run}: {outcome} in {seconds}s",
}


class Progress:
    def __init__(self, json_lines: bool):
        self.json_lines = json_lines
        self.live_mode = not json_lines and sys.stderr.isatty()
        self.lock = threading.Lock()
        self.rows: dict[str, dict[str, Any]] = {}
        self.started = time.monotonic()
        self.live: Any = None

    def __enter__(self) -> Progress:
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            # get_renderable: redrawn on every refresh, so elapsed times move between events.
            self.live = Live(get_renderable=self._table, console=Console(stderr=True),
                             refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.__exit__(*exc)

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        with self.lock:
            if self.json_lines:
                sys.stdout.write(json.dumps({"event": kind, "time": time.time(), **data}, default=str) + "\n")
                sys.stdout.flush()
                return
            self._track(kind, data)
            if self.live is not None:
                self.live.refresh()
                return
            line = _plain(kind, data)
            if line:
                print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)

    def _track(self, kind: str, data: dict[str, Any]) -> None:
        ws = data.get("workstream")
        if not ws:
            return
        row = self.rows.setdefault(ws, {"state": "planned", "worker": "", "began": None, "ended": None,
                                        "note": ""})
        state = _ROW_STATE.get(kind)
        if state:
            row["state"] = state
        if kind == "ws-start":
            row.update(worker=data.get("worker", ""), began=time.monotonic(), ended=None)
        elif kind == "ws-submitted":
            row["note"] = "in the integration queue"
        elif kind in _FINAL:
            # The live table replaces the event lines: the reason stays visible in its row.
            reasons = data.get("reasons") or ([data["reason"]] if data.get("reason") else [])
            note = "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons)
            row.update(ended=time.monotonic(), note=note[:80])
        if kind == "task-start":
            row["note"] = f"task {data.get('task')}"

    def _table(self) -> Any:
        from rich.table import Table

        t = Table(title=f"git uet run — {time.monotonic() - self.started:.0f}s", show_edge=False)
        for col in ("workstream", "state", "worker", "elapsed", "now"):
            t.add_column(col)
        queue = sum(1 for r in self.rows.values() if r["state"] == "submitted")
        now = time.monotonic()
        for ws, r in sorted(self.rows.items()):
            elapsed = "" if r["began"] is None else f"{(r['ended'] or now) - r['began']:.0f}s"
            t.add_row(ws, r["state"], r["worker"], elapsed, r["note"])
        t.caption = f"integration queue: {queue}"
        return t


_ROW_STATE = {"ws-start": "running", "ws-submitted": "submitted", "ws-failed": "failed",
              "ws-quarantined": "quarantined", "quarantined": "quarantined", "landed": "integrated",
              "ws-blocked": "blocked", "ws-error": "error"}
_FINAL = {"ws-failed", "ws-quarantined", "quarantined", "landed", "ws-blocked", "ws-error"}


def _plain(kind: str, data: dict[str, Any]) -> str | None:
    template = _PLAIN.get(kind)
    if template is None:
        return None
    fields = dict(data)
    fields.setdefault("n", len(data.get("workstreams", []) or []))
    fields["result"] = "ok" if data.get("ok") else f"failed ({data.get('error') or 'see log'})"
    fields["short"] = str(data.get("commit", ""))[:10]
    for key in ("reasons",):
        if isinstance(fields.get(key), list):
            fields[key] = "; ".join(fields[key])

    class _Missing(dict):  # a template field the event lacks prints as "?"
        def __missing__(self, key: str) -> str:
            return "?"

    return template.format_map(_Missing(fields))
