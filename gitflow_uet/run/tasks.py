"""The tasks of one workstream, run in order in its worktree through the adapters.

Each task gets its timeout, `retries` with exponential backoff, and, when it names a
`fix` task, up to `max_fix_rounds` rounds of: re-run the fixer with the failure output in
a file (`UET_FEEDBACK_FILE`), then the task again. Every finished task and every fix
round is recorded on the workstream's ledger record; logs are stored as ledger blobs.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gitflow_uet.workstream import secrets
from gitflow_uet.run.adapters import TaskResult, TaskRun, Usage, get_adapter
from gitflow_uet.run.breaker import CircuitBreaker
from gitflow_uet.run.budget import Budget
from gitflow_uet.ledger.store import Blob, Change
from gitflow_uet.process import cancellable
from gitflow_uet.project import Project
from gitflow_uet.spec.workstream import Task, Workstream

# Backoff between retries: base * 2**attempt, capped.
RETRY_BASE_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0

Emit = Callable[[str, dict[str, Any]], None]


@dataclass
class TaskOutcome:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0  # time spent in tasks (the report's "sum of task times")


class Cancelled(Exception):
    """The run was cancelled: the workstream's work stops where it is, nothing is recorded
    as failed, and the run puts it back to planned."""


@dataclass
class Limits:
    """What the tasks of every workstream in a run share: the budget, a circuit breaker and
    a number of slots (`max_workers`) per tool."""

    budget: Budget
    breakers: dict[str, CircuitBreaker]
    slots: dict[str, threading.Semaphore]
    cancelled: threading.Event = field(default_factory=threading.Event)

    def breaker(self, tool: str) -> CircuitBreaker:
        return self.breakers.setdefault(tool, CircuitBreaker())

    def breaker_states(self) -> dict[str, str]:
        return {tool: b.state(tool) for tool, b in sorted(self.breakers.items())}


class TaskRunner:
    def __init__(self, project: Project, ws: Workstream, worktree: Path, limits: Limits,
                 env: dict[str, str], emit: Emit):
        self.project = project
        self.ws = ws
        self.worktree = worktree
        self.limits = limits
        self.env = env
        self.emit = emit
        self.records: dict[str, dict[str, Any]] = {}
        self.seconds = 0.0
        self.ws_budget = Budget(ws.budget.tokens, ws.budget.cost_usd) if ws.budget else None

    def run_all(self) -> TaskOutcome:
        by_id = {t.id: t for t in self.ws.tasks}
        for task in self.ws.tasks:
            result = self._attempts(task)
            rounds = 0
            while not result.ok and task.fix and rounds < self.project.config.max_fix_rounds:
                rounds += 1
                self.emit("fix-round", {"workstream": self.ws.id, "task": task.id, "round": rounds})
                with tempfile.NamedTemporaryFile("wb", prefix=f"uet-{self.ws.id}-", suffix=".log",
                                                 delete=False) as fh:
                    fh.write(result.output)
                feedback = Path(fh.name)
                try:
                    fixer = self._attempts(by_id[task.fix], feedback=feedback, label=f"{task.fix} (fix {rounds})")
                finally:
                    feedback.unlink(missing_ok=True)
                if fixer.ok:
                    result = self._attempts(task, label=f"{task.id} (round {rounds + 1})")
                self._record(task.id, result, rounds=rounds, event=f"fix round {rounds} of {task.id}")
            if not result.ok:
                reason = f"task {task.id} failed: {result.error or _summary(result)}"
                if rounds:
                    reason += f" after {rounds} fix round{'s' if rounds > 1 else ''}"
                return TaskOutcome(False, [reason], self.seconds)
        return TaskOutcome(True, [], self.seconds)

    def _attempts(self, task: Task, *, feedback: Path | None = None, label: str | None = None) -> TaskResult:
        result: TaskResult | None = None
        for attempt in range(task.retries + 1):
            if attempt and self.limits.cancelled.wait(min(RETRY_BASE_SECONDS * 2 ** (attempt - 1),
                                                          RETRY_MAX_SECONDS)):
                raise Cancelled
            result = self._once(task, feedback, label or task.id, attempt)
            if result.ok or result.error and result.error.startswith(("budget", "circuit")):
                break
        assert result is not None
        self._record(task.id, result, label=label or task.id, attempts=attempt + 1)
        return result

    def _once(self, task: Task, feedback: Path | None, label: str, attempt: int) -> TaskResult:
        limits = self.limits
        if limits.cancelled.is_set():
            raise Cancelled
        spent = limits.budget.exhausted() or (self.ws_budget.exhausted() if self.ws_budget else None)
        if spent:
            return TaskResult.failure(f"{spent}; task not started")
        metered = task.tool != "shell"  # a red test is not a broken tool
        if metered and not limits.breaker(task.tool).allow(task.tool):
            return TaskResult.failure(f"circuit open for tool {task.tool}: failing fast")
        profile = self.project.config.tools.get(task.tool)
        run = TaskRun(
            task_id=task.id, tool=task.tool, run=task.run, prompt=task.prompt, worktree=self.worktree,
            context_files=list(self.ws.context), scope=self.ws.scope, timeout=float(task.timeout),
            max_output=self.project.config.max_output_bytes, env={**self.env, **task.env},
            passthrough=list(profile.env) if profile else [], feedback_file=feedback)
        self.emit("task-start", {"workstream": self.ws.id, "task": label, "attempt": attempt + 1})
        slot = limits.slots.get(task.tool)
        if slot:
            slot.acquire()
        try:
            with cancellable():
                result = get_adapter(task.tool, profile).run(run)
        finally:
            if slot:
                slot.release()
        if limits.cancelled.is_set():
            raise Cancelled  # killed by the cancel, not failed on its own
        # Before it is shown (task-end) or stored: a task can print any credential it sees.
        result.output = secrets.redact_bytes(result.output)
        result.error = secrets.redact_held(result.error) if result.error else result.error
        self.seconds += result.seconds
        usage = result.usage or Usage()
        limits.budget.charge(self.ws.id, usage)
        if self.ws_budget:
            self.ws_budget.charge(self.ws.id, usage)
        if metered:
            change = limits.breaker(task.tool).record(task.tool, result.ok)
            if change:
                self.emit("breaker", {"tool": task.tool, "state": change})
        self.emit("task-end", {"workstream": self.ws.id, "task": label, "ok": result.ok,
                               "seconds": round(result.seconds, 3), "error": result.error})
        return result

    def _record(self, task_id: str, result: TaskResult, *, event: str | None = None, label: str | None = None,
                **extra: int) -> None:
        entry = self.records.setdefault(task_id, {})
        log = Blob(result.output)
        entry.update({
            "state": "ok" if result.ok else "failed", "seconds": round(result.seconds, 3),
            "exit": result.exit, "timed_out": result.timed_out, "error": result.error,
            "log": log, **extra,
        })
        if label is not None:
            # Every run of the task is kept (first try, each fix round's re-run, each run of
            # a fixer), not only the last: the round that went wrong is the one to read.
            entry.setdefault("runs", []).append({"label": label, "ok": result.ok, "exit": result.exit,
                                                 "seconds": round(result.seconds, 3), "log": log})
        if result.usage and result.usage.known:
            entry["usage"] = {"tokens_in": result.usage.tokens_in, "tokens_out": result.usage.tokens_out,
                              "cost_usd": result.usage.cost_usd}
        self.project.ledger.append(Change("workstream", self.ws.id, "running",
                                          event or f"task {task_id} {entry['state']}", {"tasks": self.records}))
        # Landed: from now on the record names the stored log, so later appends of this
        # map carry a reference, not the log again.
        if log.ref is not None:
            entry["log"] = log.ref
            for run in entry.get("runs", []):
                if isinstance(run["log"], Blob) and run["log"].ref is not None:
                    run["log"] = run["log"].ref


def _summary(result: TaskResult) -> str:
    if result.timed_out:
        return f"timed out after {result.seconds:.0f}s"
    return f"exit {result.exit}"
