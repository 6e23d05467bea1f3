"""The workstream DAG: waves of what can run together, and the critical path."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitflow_uet.errors import SpecError
from gitflow_uet.spec.workstream import Workstream, estimate


@dataclass(frozen=True)
class Plan:
    waves: list[list[str]]
    critical_path: list[str]
    critical_seconds: float
    widths: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.widths)


def plan_from(specs: Mapping[str, Workstream], gates: Collection[str] | None = None) -> Plan:
    """Check the dependencies (and, given the configured gate names, each `gates:` list),
    then layer the DAG with Kahn's algorithm. Every failure is a one-line SpecError."""
    _check_references(specs, gates)
    dependents: dict[str, list[str]] = {ws_id: [] for ws_id in specs}
    waiting = {ws_id: len(ws.depends_on) for ws_id, ws in specs.items()}
    for ws_id, ws in specs.items():
        for dep in ws.depends_on:
            dependents[dep].append(ws_id)
    waves: list[list[str]] = []
    ready = sorted(ws_id for ws_id, n in waiting.items() if n == 0)
    while ready:
        waves.append(ready)
        unlocked = []
        for ws_id in ready:
            for child in dependents[ws_id]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    unlocked.append(child)
        ready = sorted(unlocked)
    placed = {ws_id for wave in waves for ws_id in wave}
    if len(placed) < len(specs):
        raise _cycle_error(specs, set(specs) - placed)
    path, seconds = _critical_path(specs, waves)
    return Plan(waves=waves, critical_path=path, critical_seconds=seconds, widths=[len(w) for w in waves])


def _check_references(specs: Mapping[str, Workstream], gates: Collection[str] | None) -> None:
    for ws_id in sorted(specs):
        ws = specs[ws_id]
        for i, dep in enumerate(ws.depends_on):
            if dep == ws_id:
                raise SpecError(f"{ws.where}: depends_on.{i}: workstream '{ws_id}' depends on itself")
            if dep not in specs:
                raise SpecError(f"{ws.where}: depends_on.{i}: unknown workstream '{dep}'")
        if gates is not None:
            for i, gate in enumerate(ws.gates or []):
                if gate not in gates:
                    known = ", ".join(sorted(gates)) or "none defined"
                    raise SpecError(f"{ws.where}: gates.{i}: unknown gate '{gate}' (gates: {known})")


def _cycle_error(specs: Mapping[str, Workstream], stuck: set[str]) -> SpecError:
    # Every workstream Kahn could not place waits on another one that could not be placed,
    # so following the smallest such dependency from any of them must come back around.
    walk: list[str] = []
    node = min(stuck)
    while node not in walk:
        walk.append(node)
        node = min(dep for dep in specs[node].depends_on if dep in stuck)
    cycle = walk[walk.index(node) :]
    start = cycle.index(min(cycle))
    cycle = cycle[start:] + cycle[:start]
    first = specs[cycle[0]]
    return SpecError(f"{first.where}: depends_on: cycle: {' → '.join([*cycle, cycle[0]])}")


def _critical_path(specs: Mapping[str, Workstream], waves: list[list[str]]) -> tuple[list[str], float]:
    """The heaviest chain by `estimate`; among equal chains, the one through smaller ids."""
    total: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for wave in waves:
        for ws_id in wave:
            best = via[ws_id] = _heaviest(specs[ws_id].depends_on, total)
            total[ws_id] = estimate(specs[ws_id]) + (total[best] if best is not None else 0.0)
    end = _heaviest(total, total)
    if end is None:
        return [], 0.0
    path: list[str] = []
    while end is not None:
        path.append(end)
        end = via[end]
    path.reverse()
    return path, total[path[-1]]


def _heaviest(candidates: Iterable[str], total: Mapping[str, float]) -> str | None:
    """The candidate with the largest total; on a tie, the smallest id."""
    best: str | None = None
    for ws_id in sorted(candidates):
        if best is None or total[ws_id] > total[best]:
            best = ws_id
    return best


def to_json(plan: Plan) -> dict[str, Any]:
    return {
        "waves": plan.waves,
        "critical_path": plan.critical_path,
        "critical_seconds": plan.critical_seconds,
        "widths": plan.widths,
        "workstreams": plan.count,
    }


def to_mermaid(plan: Plan, specs: Mapping[str, Workstream]) -> str:
    """A `flowchart LR`, one subgraph per wave, edges from dependency to dependent."""
    # Node names are positional: ids like `end` or `a--b` would break mermaid's syntax.
    node = {ws_id: f"w{n}" for n, ws_id in enumerate(ws_id for wave in plan.waves for ws_id in wave)}
    lines = ["flowchart LR"]
    for number, wave in enumerate(plan.waves, start=1):
        lines.append(f'  subgraph wave{number}["wave {number}"]')
        lines.extend(f'    {node[ws_id]}["{_label(f"{ws_id}: {specs[ws_id].title}")}"]' for ws_id in wave)
        lines.append("  end")
    for wave in plan.waves:
        for ws_id in wave:
            lines.extend(f"  {node[dep]} --> {node[ws_id]}" for dep in sorted(specs[ws_id].depends_on))
    return "\n".join(lines) + "\n"


def _label(text: str) -> str:
    # Mermaid's entity codes; `#` first so the codes themselves are not escaped again.
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;")):
        text = text.replace(char, code)
    return " ".join(text.split())
