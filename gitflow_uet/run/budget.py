"""The spending budget of one `git uet run`: tokens and dollars, in total and per workstream.

Tools report usage after the fact, so the budget cannot stop a task midway: the scheduler
charges each finished task and starts no new agent task once `exhausted()` says why.
Usage a tool does not report counts as nothing but is tallied as `unmetered`, so the
report can say the figures are a lower bound.
"""

from __future__ import annotations

import threading
from typing import Any


class Budget:
    def __init__(self, tokens: int | None = None, cost_usd: float | None = None):
        self.tokens = tokens
        self.cost_usd = cost_usd
        self._lock = threading.Lock()
        self._tokens = 0
        self._cost = 0.0
        self._unmetered = 0
        self._by_ws: dict[str, dict[str, float]] = {}

    @classmethod
    def from_config(cls, config_budget: Any) -> Budget:
        """From the config's `budget` (any object with `tokens` and `cost_usd`, or None)."""
        return cls(getattr(config_budget, "tokens", None), getattr(config_budget, "cost_usd", None))

    def charge(self, ws_id: str, usage: Any) -> str | None:
        """Add one task's usage (an adapters.Usage or alike); the exhaustion reason, if any."""
        tokens_in = getattr(usage, "tokens_in", None)
        tokens_out = getattr(usage, "tokens_out", None)
        cost = getattr(usage, "cost_usd", None)
        tokens = None if tokens_in is None and tokens_out is None else (tokens_in or 0) + (tokens_out or 0)
        with self._lock:
            mine = self._by_ws.setdefault(ws_id, {"tokens": 0, "cost_usd": 0.0, "unmetered": 0})
            if tokens is None and cost is None:
                self._unmetered += 1
                mine["unmetered"] += 1
            self._tokens += tokens or 0
            self._cost += cost or 0.0
            mine["tokens"] += tokens or 0
            mine["cost_usd"] += cost or 0.0
            return self._reason()

    def exhausted(self) -> str | None:
        """Why no more paid work may start, or None while there is budget left."""
        with self._lock:
            return self._reason()

    def _reason(self) -> str | None:
        if self.tokens is not None and self._tokens >= self.tokens:
            return f"token budget spent: {self._tokens}/{self.tokens}"
        if self.cost_usd is not None and self._cost >= self.cost_usd:
            return f"cost budget spent: ${self._cost:.2f}/${self.cost_usd:.2f}"
        return None

    def for_workstream(self, ws_id: str) -> dict[str, float]:
        with self._lock:
            return dict(self._by_ws.get(ws_id, {"tokens": 0, "cost_usd": 0.0, "unmetered": 0}))

    @property
    def spent(self) -> dict[str, Any]:
        """For the run report: totals, limits and the split per workstream."""
        with self._lock:
            return {
                "tokens": self._tokens,
                "cost_usd": round(self._cost, 6),
                "unmetered": self._unmetered,
                "limits": {"tokens": self.tokens, "cost_usd": self.cost_usd},
                "workstreams": {ws: {**v, "cost_usd": round(v["cost_usd"], 6)}
                                for ws, v in sorted(self._by_ws.items())},
            }
