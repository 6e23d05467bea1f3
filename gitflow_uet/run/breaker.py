"""A circuit breaker per tool: stop sending tasks to a tool that keeps failing.

After `threshold` consecutive failures a tool's circuit opens and tasks for it fail fast.
Once `cooldown` seconds have passed, one trial task is let through (half-open): its
success closes the circuit, its failure opens it again for another cooldown. This keeps a
dead endpoint or a missing API key from burning every queued workstream's retries.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Literal

State = Literal["closed", "open", "half_open"]


@dataclass
class _Circuit:
    state: State = "closed"
    failures: int = 0           # consecutive
    opened_at: float = 0.0
    trial_out: bool = False     # a half-open trial has been let through and not reported


class CircuitBreaker:
    def __init__(self, threshold: int = 3, cooldown: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        self._circuits: dict[str, _Circuit] = {}

    def _get(self, tool: str) -> _Circuit:
        return self._circuits.setdefault(tool, _Circuit())

    def allow(self, tool: str) -> bool:
        """Whether a task for `tool` may start now. After the cooldown, True exactly once
        until that trial's outcome is recorded."""
        with self._lock:
            circuit = self._get(tool)
            if circuit.state == "closed":
                return True
            if circuit.state == "open":
                if self.clock() - circuit.opened_at < self.cooldown:
                    return False
                circuit.state = "half_open"
                circuit.trial_out = False
            if circuit.trial_out:
                return False
            circuit.trial_out = True
            return True

    def record(self, tool: str, ok: bool) -> str | None:
        """Count one task outcome; "opened" or "closed" when the circuit changes state."""
        with self._lock:
            circuit = self._get(tool)
            if ok:
                circuit.failures = 0
                if circuit.state == "closed":
                    return None
                circuit.state, circuit.trial_out = "closed", False
                return "closed"
            circuit.failures += 1
            tripped = circuit.state == "closed" and circuit.failures >= self.threshold
            if circuit.state == "half_open" or tripped:
                circuit.state, circuit.opened_at, circuit.trial_out = "open", self.clock(), False
                return "opened"
            # A failure of a task started before the circuit opened changes nothing.
            return None

    def state(self, tool: str) -> State:
        with self._lock:
            return self._get(tool).state

    def states(self) -> dict[str, State]:
        with self._lock:
            return {tool: c.state for tool, c in self._circuits.items()}
