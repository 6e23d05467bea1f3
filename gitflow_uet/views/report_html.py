"""The run report as one self-contained HTML page: inline CSS and SVG, no script, no font,
no network, so it opens anywhere (a CI artifact, an air-gapped machine) and shows the same.

Every text that comes from a spec, a record or a log goes through `_e` (html.escape).
"""

from __future__ import annotations

import html
import math
import re
from typing import Any, Sequence

COLORS = {
    "integrated": "#2f9e5b", "quarantined": "#e07b24", "failed": "#d64545", "blocked": "#8a9099",
    "rolled_back": "#8e5bc2", "running": "#4a7fe0", "submitted": "#4a7fe0", "planned": "#b8c4d6",
}
OTHER = "#c9ced6"  # an outcome without a color of its own, or a node outside the run

CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5b6472;margin-bottom:12px}
.chips span{display:inline-block;padding:3px 10px;border-radius:12px;color:#fff;margin:0 6px 6px 0;font-weight:600}
.big{display:flex;gap:28px;margin:12px 0}.big div{background:#fff;border:1px solid #e1e5eb;border-radius:8px;padding:10px 16px}
.big b{display:block;font-size:22px}
svg{background:#fff;border:1px solid #e1e5eb;border-radius:8px;max-width:100%;height:auto}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}svg .on{fill:#fff;font-weight:600}svg .axis{fill:#5b6472}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #e1e5eb;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f2f5}
td.n{text-align:right;font-variant-numeric:tabular-nums}.why{color:#8a3b12;font-size:12px}
.dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:6px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _s(seconds: Any) -> str:
    return "" if seconds is None else f"{float(seconds):.2f}s"


def _color(outcome: str | None) -> str:
    return COLORS.get(outcome or "", OTHER)


def render_html(report: dict[str, Any], waves: Sequence[Sequence[str]] | None = None,
                edges: Sequence[Sequence[str]] | None = None) -> str:
    """The whole page (inline SVG needs no xmlns in HTML5, so the page names no URL at all). `waves`/`edges` default to the report's own plan (if any)."""
    plan = report.get("plan") or {}
    waves = waves if waves is not None else plan.get("waves") or []
    edges = edges if edges is not None else plan.get("edges") or []
    run, totals = report["run"], report["totals"]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>git uet run {_e(run['id'])}</title><style>{CSS}</style></head><body>",
        _header(report),
        "<h2>Timeline</h2>", gantt(report),
    ]
    if waves:
        parts += ["<h2>Plan</h2>", dag(report, waves, edges, plan.get("critical_path") or [])]
    parts += ["<h2>Workstreams</h2>", _table(report["workstreams"])]
    if run.get("errors"):
        parts.append("<h2>Errors</h2><ul>" + "".join(f"<li>{_e(x)}</li>" for x in run["errors"]) + "</ul>")
    parts.append(f'<p class="meta">sum of task times {_s(totals["sum_task_seconds"])}; '
                 f'gates {_s(totals["gate_seconds"])}; written by git uet report</p></body></html>')
    return "\n".join(parts) + "\n"


def _header(report: dict[str, Any]) -> str:
    run, totals = report["run"], report["totals"]
    chips = "".join(f'<span style="background:{_color(state)}">{_e(state)} {n}</span>'
                    for state, n in totals["outcome"].items())
    plan = report.get("plan") or {}
    path = " → ".join(plan.get("critical_path") or [])
    cards = [("wall time", _s(totals["seconds"])), ("sum of task times", _s(totals["sum_task_seconds"])),
             ("speedup", f"{totals['speedup']:.2f}×"), ("workers", run.get("workers")),
             ("mean queue wait", _s(totals.get("mean_queue_wait")))]
    return (f"<h1>git uet run {_e(run['id'])}: {_e(run['state'])}</h1>"
            f'<div class="meta">started {_e(run.get("started"))} on {_e(run.get("host"))}, '
            f'finished {_e(run.get("finished"))}</div><div class="chips">{chips}</div>'
            '<div class="big">' + "".join(f"<div>{_e(k)}<b>{_e(v)}</b></div>" for k, v in cards) + "</div>"
            + (f'<div class="meta">critical path: {_e(path)}</div>' if path else ""))


def _step(span: float) -> float:
    """A tick spacing giving about eight ticks over `span` seconds: 1, 2 or 5 × 10^k."""
    raw = max(span / 8, 0.1)
    scale = 10 ** math.floor(math.log10(raw))
    return next(m * scale for m in (1, 2, 5, 10) if m * scale >= raw)


def gantt(report: dict[str, Any]) -> str:
    """One lane per worker plus the integrator; a bar per workstream, colored by outcome."""
    rows = report["workstreams"]
    bars = [(r["worker"], r["start"], r["end"], r["id"], r["outcome"]) for r in rows
            if r["worker"] and r["start"] is not None and r["end"] is not None]
    bars += [("integrator", s["start"], s["end"], s["workstream"], s["outcome"])
             for s in report.get("integrations") or []]
    # Natural order, so worker w10 comes after w9, not after w1.
    lanes = sorted({b[0] for b in bars if b[0] != "integrator"},
                   key=lambda w: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", w)]) + ["integrator"]
    horizon = max([report["totals"]["seconds"] or 0.0, *(b[2] for b in bars)]) or 1.0
    left, width, lane_h, top = 130, 900, 30, 10
    scale = width / horizon
    height = top + lane_h * len(lanes) + 30
    out = [f'<svg width="{left + width + 20}" height="{height}" '
           f'viewBox="0 0 {left + width + 20} {height}" role="img" aria-label="timeline">']
    for i, lane in enumerate(lanes):
        y = top + i * lane_h
        out.append(f'<rect x="{left}" y="{y}" width="{width}" height="{lane_h - 4}" fill="{"#f4f6f9" if i % 2 else "#fbfcfd"}"/>')
        out.append(f'<text x="8" y="{y + 18}">{_e(lane)}</text>')
    step = _step(horizon)
    axis_y = top + lane_h * len(lanes)
    tick = 0.0
    while tick <= horizon + 1e-9:
        x = left + tick * scale
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#e1e5eb"/>')
        out.append(f'<text class="axis" x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle">{tick:g}s</text>')
        tick += step
    for lane, start, end, ws_id, outcome in bars:
        y = top + lanes.index(lane) * lane_h + 2
        x, w = left + start * scale, max((end - start) * scale, 2.0)
        out.append(f'<g><title>{_e(ws_id)}: {_e(outcome)}, {start:.2f}s → {end:.2f}s ({end - start:.2f}s)</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{lane_h - 8}" rx="3" fill="{_color(outcome)}"/>')
        if w > 7 * len(ws_id):  # a label that does not fit would spill over the next bar
            out.append(f'<text class="on" x="{x + 4:.1f}" y="{y + 16}">{_e(ws_id)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def dag(report: dict[str, Any], waves: Sequence[Sequence[str]], edges: Sequence[Sequence[str]],
        critical: Sequence[str] = ()) -> str:
    """The plan: a column per wave, an arrow per dependency → dependent, nodes by outcome;
    the critical path drawn with a heavier outline."""
    outcome = {r["id"]: r["outcome"] for r in report["workstreams"]}
    node_w, node_h, gap_x, gap_y, pad = 150, 32, 70, 16, 20
    where: dict[str, tuple[float, float]] = {}
    for col, wave in enumerate(_untangle(waves, edges)):
        for row, ws_id in enumerate(wave):
            where[ws_id] = (pad + col * (node_w + gap_x), pad + 18 + row * (node_h + gap_y))
    width = pad * 2 + len(waves) * node_w + max(len(waves) - 1, 0) * gap_x
    height = pad * 2 + 18 + max((len(w) for w in waves), default=1) * (node_h + gap_y)
    on_path = set(zip(critical, critical[1:]))
    out = [f'<svg width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="plan">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" '
           'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0L10,5L0,10z" fill="#5b6472"/></marker></defs>']
    for col in range(len(waves)):
        out.append(f'<text class="axis" x="{pad + col * (node_w + gap_x)}" y="{pad + 8}">wave {col + 1}</text>')
    for dep, ws_id in edges:
        if dep not in where or ws_id not in where:
            continue
        (x1, y1), (x2, y2) = where[dep], where[ws_id]
        heavy = (dep, ws_id) in on_path
        out.append(f'<path d="M{x1 + node_w:.0f},{y1 + node_h / 2:.0f} C{x1 + node_w + gap_x / 2:.0f},'
                   f'{y1 + node_h / 2:.0f} {x2 - gap_x / 2:.0f},{y2 + node_h / 2:.0f} {x2 - 1:.0f},{y2 + node_h / 2:.0f}" '
                   f'fill="none" stroke="{"#1d2330" if heavy else "#8a9099"}" stroke-width="{2.5 if heavy else 1.2}" '
                   'marker-end="url(#arrow)"/>')
    for ws_id, (x, y) in where.items():
        state = outcome.get(ws_id, "not in this run")
        stroke = ' stroke="#1d2330" stroke-width="3"' if ws_id in critical else ""
        label = ws_id if len(ws_id) <= 19 else ws_id[:18] + "…"
        out.append(f'<g><title>{_e(ws_id)}: {_e(state)}</title><rect x="{x}" y="{y}" width="{node_w}" '
                   f'height="{node_h}" rx="6" fill="{_color(state)}"{stroke}/>'
                   f'<text class="on" x="{x + node_w / 2}" y="{y + 21}" text-anchor="middle">{_e(label)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _untangle(waves: Sequence[Sequence[str]], edges: Sequence[Sequence[str]]) -> list[list[str]]:
    """Waves reordered so arrows cross less: each wave by the mean row of its nodes'
    dependencies, then the first wave by its dependents' rows (one barycenter sweep each way)."""
    order = [list(w) for w in waves]
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for dep, ws_id in edges:
        parents.setdefault(ws_id, []).append(dep)
        children.setdefault(dep, []).append(ws_id)

    def sweep(wave: list[str], links: dict[str, list[str]], rows: dict[str, int]) -> list[str]:
        def key(ws_id: str) -> tuple[float, int]:
            near = [rows[x] for x in links.get(ws_id, []) if x in rows]
            return (sum(near) / len(near) if near else float("inf"), wave.index(ws_id))
        return sorted(wave, key=key)

    def rows_of(*waves_: list[str]) -> dict[str, int]:
        return {ws_id: i for wave in waves_ for i, ws_id in enumerate(wave)}

    for k in range(1, len(order)):
        order[k] = sweep(order[k], parents, rows_of(*order[:k]))
    if len(order) > 1:
        order[0] = sweep(order[0], children, rows_of(*order[1:]))
        for k in range(1, len(order)):
            order[k] = sweep(order[k], parents, rows_of(*order[:k]))
    return order


def _table(rows: list[dict[str, Any]]) -> str:
    head = ["workstream", "outcome", "worker", "wait", "duration", "queue wait", "tasks", "gates", "usage"]
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for r in rows:
        tasks = "<br>".join(f"{_e(t)}: {_e(v.get('state'))} {_s(v.get('seconds'))}" for t, v in r["tasks"].items())
        gates = "<br>".join(f"{_e(g)}: {'ok' if v.get('ok') else 'failed'} {_s(v.get('seconds'))}"
                            for g, v in r["gates"].items())
        usage = r.get("usage") or {}
        spent = ", ".join(f"{_e(k)} {_e(v)}" for k, v in usage.items() if v) if usage else ""
        why = "".join(f'<div class="why">{_e(x)}</div>' for x in r["reasons"])
        out.append(
            f"<tr><td><b>{_e(r['id'])}</b><br>{_e(r['title'])}{why}</td>"
            f'<td><span class="dot" style="background:{_color(r["outcome"])}"></span>{_e(r["outcome"])}</td>'
            f"<td>{_e(r['worker'])}</td><td class=n>{_s(r['wait'])}</td><td class=n>{_s(r['duration'])}</td>"
            f"<td class=n>{_s(r['queue_wait'])}</td><td>{tasks}</td><td>{gates}</td><td>{spent}</td></tr>")
    out.append("</table>")
    return "".join(out)
