"""`git uet run`: every ready workstream executed by a pool of workers, each result
integrated as it arrives by one sequential integrator working alongside them.

A workstream is ready when all its dependencies are integrated; among ready ones the
order is priority, then id. Two workstreams sharing a resource, or (with
`scope_overlap: serialize`) whose scopes may overlap, never run at once. A failure
blocks the workstreams that depend on it; the others go on.

Everything that happens is a ledger transition, so a run killed at any moment is finished
by the next `git uet run`: dead workers are recovered, queued patches integrated, and
nothing lands twice.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ulid import ULID

from gitflow_uet import process
from gitflow_uet.spec import scope
from gitflow_uet.workstream import lifecycle as workstreams
from gitflow_uet.run.breaker import CircuitBreaker
from gitflow_uet.run.budget import Budget
from gitflow_uet.errors import UetError, UsageError
from gitflow_uet.ledger.store import Batch, Blob, Change, State, now_iso
from gitflow_uet.spec.plan import plan_from
from gitflow_uet.process import HOST
from gitflow_uet.project import Project
from gitflow_uet.spec.workstream import Workstream
from gitflow_uet.run.tasks import Cancelled, Limits, TaskRunner
from gitflow_uet.run.workers import Heartbeats, recover, release

Emit = Callable[[str, dict[str, Any]], None]

# How often a run looks for dead workers of other runs.
RECOVERY_SECONDS = 10.0
DONE = frozenset({"integrated", "failed", "quarantined", "blocked", "rolled_back"})
UNREACHABLE = frozenset({"failed", "quarantined", "blocked", "rolled_back"})


@dataclass
class RunResult:
    run_id: str
    states: dict[str, str]
    seconds: float
    task_seconds: float
    recovered: list[str] = field(default_factory=list)
    # What this run set out to do: the selected workstreams not already finished when it
    # began. Only these (and errors of its own) decide its outcome and exit code: a
    # workstream quarantined by an earlier run does not fail this one.
    attempted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def ids(self, *wanted: str) -> list[str]:
        return sorted(i for i, s in self.states.items() if s in wanted)

    @property
    def ok(self) -> bool:
        return not self.errors and all(self.states.get(i) == "integrated" for i in self.attempted)


def selection(specs: dict[str, Workstream], only: list[str] | None) -> list[str]:
    """The workstreams to run: those named (with every dependency they need), or all."""
    if not only:
        return sorted(specs)
    unknown = [i for i in only if i not in specs]
    if unknown:
        raise UsageError(f"unknown workstream {', '.join(map(repr, unknown))}")
    chosen: set[str] = set()
    todo = list(only)
    while todo:
        ws_id = todo.pop()
        if ws_id not in chosen:
            chosen.add(ws_id)
            todo += specs[ws_id].depends_on
    return sorted(chosen)


class RunCancelled(UetError):
    """The run was asked to stop (Ctrl-C, SIGTERM) and did: its tasks are killed and gone,
    what it had started is back to planned, its record is `cancelled`."""

    exit_code = 130

    def __init__(self, run_id: str, released: list[str]):
        super().__init__(f"run {run_id} cancelled")
        self.run_id, self.released = run_id, released


class Run:
    def __init__(self, project: Project, ids: list[str], workers: int, emit: Emit,
                 stop: threading.Event | None = None):
        self.project = project
        self.specs = project.specs
        self.ids = ids
        self.n_workers = workers
        self.emit = emit
        self.run_id = str(ULID())
        # Set (by a signal handler, say) to cancel the run; only the scheduler acts on it,
        # between two steps, so no ledger write is ever cut in half.
        self.stop = stop or threading.Event()
        self.cond = threading.Condition()
        self.assigned: dict[str, str] = {}      # ws id -> worker id, while a worker has it
        self.integrating = False
        self.integrator_gave_up = False
        self.stopping = False
        self.jobs: queue.Queue[str | None] = queue.Queue()
        self.idle = 0
        self.task_seconds = 0.0
        self.timeline: list[dict[str, Any]] = []
        self.errors: list[str] = []
        config = project.config
        self.limits = Limits(
            budget=Budget.from_config(config.budget),
            breakers={name: CircuitBreaker(p.breaker_failures or 3,
                                           300.0 if p.breaker_cooldown is None else p.breaker_cooldown)
                      for name, p in config.tools.items()},
            slots={name: threading.BoundedSemaphore(p.max_workers) for name, p in config.tools.items()
                   if p.max_workers},
        )
        self.heartbeats = Heartbeats(project)

    # -- the loop ---------------------------------------------------------------------------

    def execute(self) -> RunResult:
        started = time.monotonic()
        ledger = self.project.ledger
        # A workstream someone started by hand is theirs until they submit it. One a live
        # run holds (run() recovered those of dead ones) is waited for: it stays ours to
        # see through, and is recovered if its holder dies while we wait.
        state = ledger.state()
        running = [i for i, s in self._states().items() if s == "running"]
        by_hand = [i for i in running if not (state.get("workstream", i) or {}).get("worker")]
        for ws_id in by_hand:
            self.emit("ws-skipped", {"workstream": ws_id, "reason": "running outside this run"})
        for ws_id in sorted(set(running) - set(by_hand)):
            holder = (state.get("workstream", ws_id) or {}).get("run")
            self.emit("ws-waiting", {"workstream": ws_id, "reason": f"held by run {holder}; waiting for it"})
        self.ids = [i for i in self.ids if i not in by_hand]
        before = self._states()
        attempted = [i for i in self.ids if before[i] not in DONE]
        ledger.append(Change("run", self.run_id, "pending", "create", {
            "workers": self.n_workers, "workstreams": self.ids, "host": HOST, "started": now_iso()}),
            Change("run", self.run_id, "running", "start"))
        self.emit("run-start", {"run": self.run_id, "workers": self.n_workers, "workstreams": self.ids})
        self.heartbeats.start()
        threads = [threading.Thread(target=self._worker, args=(f"{self.run_id[-6:].lower()}-w{n + 1}",),
                                    name=f"uet-worker-{n + 1}", daemon=True) for n in range(self.n_workers)]
        integrator = threading.Thread(target=self._integrator, name="uet-integrator", daemon=True)
        for t in threads:
            t.start()
        integrator.start()
        try:
            states = self._schedule()
        except BaseException:
            self._cancel(threads, integrator)
            raise
        if states is None:
            raise RunCancelled(self.run_id, self._cancel(threads, integrator))
        self._shutdown(threads, integrator)
        states = self._states()
        seconds = time.monotonic() - started
        result = RunResult(self.run_id, states, seconds, self.task_seconds, attempted=attempted,
                           errors=list(self.errors))
        outcome = "completed" if result.ok else "failed"
        summary = {
            "finished": now_iso(), "seconds": round(seconds, 3), "task_seconds": round(self.task_seconds, 3),
            "outcome": {s: sorted(i for i, v in states.items() if v == s) for s in set(states.values())},
            "usage": self.limits.budget.spent, "breaker": self.limits.breaker_states(),
            "timeline": Blob(json.dumps(self.timeline).encode()),
            "errors": self.errors,
        }
        ledger.append(Change("run", self.run_id, outcome, "finish", summary))
        self.emit("run-end", {"run": self.run_id, "outcome": outcome, "seconds": round(seconds, 3),
                              "states": states})
        return result

    def _states(self) -> dict[str, str]:
        state = self.project.ledger.state()
        return {ws_id: state.state_of("workstream", ws_id) or "planned" for ws_id in self.ids}

    def _schedule(self) -> dict[str, str] | None:
        """Hand out work until nothing is left to do (the states then), or until asked to
        stop (None)."""
        next_recovery = time.monotonic() + RECOVERY_SECONDS
        while True:
            if self.stop.is_set():
                return None
            if time.monotonic() > next_recovery:
                # Workers of other runs that died since we started: their work is redone.
                for ws_id in recover(self.project):
                    self.emit("ws-recovered", {"workstream": ws_id})
                next_recovery = time.monotonic() + RECOVERY_SECONDS
            with self.cond:
                states = self._states()
                self._block_unreachable(states)
                busy = set(self.assigned)
                ready = [i for i in self._ready(states) if i not in busy]
                for ws_id in ready:
                    if self.idle <= 0:
                        break
                    if self._conflicts(ws_id, busy):
                        continue
                    self.assigned[ws_id] = ""
                    busy.add(ws_id)
                    self.idle -= 1
                    self.jobs.put(ws_id)
                waiting = [i for i, s in states.items() if s not in DONE]
                if not waiting and not self.assigned and not self.integrating:
                    return states
                active = ("running",) if self.integrator_gave_up else ("running", "submitted")
                if not self.assigned and not self.integrating and not ready and \
                        not any(s in active for s in states.values()):
                    # Nothing runs and nothing can start: what remains waits on work
                    # this run cannot do (e.g. started by hand and never submitted).
                    return states
                self.cond.wait(timeout=0.25)

    def _ready(self, states: dict[str, str]) -> list[str]:
        ready = [i for i, s in states.items()
                 if s == "planned" and all(self._dep_state(d, states) == "integrated"
                                           for d in self.specs[i].depends_on)]
        return sorted(ready, key=lambda i: (self.specs[i].priority_rank, i))

    def _dep_state(self, ws_id: str, states: dict[str, str]) -> str:
        """A dependency's state: from this round's read, or from the ledger when it is not
        one of this run's (dropped after an error, or started by hand)."""
        if ws_id in states:
            return states[ws_id]
        return self.project.ledger.state().state_of("workstream", ws_id) or "planned"

    def _block_unreachable(self, states: dict[str, str]) -> None:
        for ws_id, s in sorted(states.items()):
            if s != "planned" or ws_id in self.assigned:
                continue
            bad = [d for d in self.specs[ws_id].depends_on if self._dep_state(d, states) in UNREACHABLE]
            if bad:
                reason = f"dependency {', '.join(bad)} is {self._dep_state(bad[0], states)}"
                changes = [Change("workstream", ws_id, "blocked", "block", {"reasons": [reason]})]
                if self.project.ledger.state().get("workstream", ws_id) is None:
                    # Recorded from its first move: this one never moved before.
                    changes.insert(0, Change("workstream", ws_id, "planned", "plan",
                                             {"title": self.specs[ws_id].title, "branch": None}))
                self.project.ledger.append(*changes)
                states[ws_id] = "blocked"
                self.emit("ws-blocked", {"workstream": ws_id, "reason": reason})

    def _conflicts(self, ws_id: str, busy: set[str]) -> bool:
        spec = self.specs[ws_id]
        serialize = self.project.config.scope_overlap == "serialize"
        for other_id in busy:
            other = self.specs[other_id]
            if set(spec.resources) & set(other.resources):
                return True
            if serialize and scope.may_overlap(spec.scope, other.scope):
                return True
        return False

    def _cancel(self, threads: list[threading.Thread], integrator: threading.Thread) -> list[str]:
        """Ctrl-C or SIGTERM: kill the tasks now and wait until they are gone, let an
        integration in flight finish its gated landing, and put what this run had started
        back to planned, so that the next run carries on; the run is recorded `cancelled`.
        Returns the workstreams put back. (A second interrupt is the CLI's: the process
        ends at once, as after a kill -9, which the next run recovers from too.)"""
        self.limits.cancelled.set()
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        for _ in threads:
            self.jobs.put(None)
        killed = 0
        # A worker may start a task just after a sweep: sweep until every worker is out.
        while any(t.is_alive() for t in threads):
            killed += process.cancel_all()
            for t in threads:
                t.join(timeout=0.2)
        self.emit("run-cancel", {"run": self.run_id, "tasks_killed": killed})
        integrator.join()
        self.heartbeats.stop()
        mine = [ws["id"] for ws in self.project.ledger.state().all("workstream")
                if ws["state"] == "running" and ws.get("run") == self.run_id]
        return release(self.project, mine, event="cancelled",
                       reason=f"run {self.run_id} was cancelled; redone next run",
                       also=[Change("run", self.run_id, "cancelled", "interrupted")])

    def _shutdown(self, threads: list[threading.Thread], integrator: threading.Thread) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        for _ in threads:
            self.jobs.put(None)
        for t in threads:
            t.join()
        integrator.join()
        self.heartbeats.stop()

    # -- workers ----------------------------------------------------------------------------

    def _worker(self, worker_id: str) -> None:
        ledger = self.project.ledger
        fields = {"run": self.run_id, "pid": os.getpid(), "host": HOST, "started": process.MY_START}
        self.heartbeats.add(worker_id)  # beating before it is recorded: never seen dead
        ledger.append(Change("worker", worker_id, "SPAWNING", "spawn", fields),
                      Change("worker", worker_id, "IDLE", "ready"))
        self.emit("worker", {"worker": worker_id, "state": "IDLE"})
        with self.cond:
            self.idle += 1
            self.cond.notify_all()
        while True:
            ws_id = self.jobs.get()
            if ws_id is None:
                break
            if self.limits.cancelled.is_set():
                with self.cond:  # handed out before the cancel: not started at all
                    self.assigned.pop(ws_id, None)
                continue
            with self.cond:
                self.assigned[ws_id] = worker_id
            ledger.append(Change("worker", worker_id, "BUSY", f"take {ws_id}", {"workstream": ws_id}))
            begun = time.time()
            try:
                outcome = self._execute(ws_id, worker_id)
            except Cancelled:
                outcome = "cancelled"
            except Exception as err:  # noqa: BLE001 - one workstream's error must not sink the run
                # An adapter's, git's or our own: the workstream ends failed with the reason,
                # on the terminal and in the ledger; the others go on; the run exits 1.
                outcome = "error: " + self._fail(ws_id, err)
            self.timeline.append({"workstream": ws_id, "worker": worker_id, "start": begun,
                                  "end": time.time(), "outcome": outcome})
            ledger.append(Change("worker", worker_id, "IDLE", f"done {ws_id}", {"workstream": None}))
            with self.cond:
                self.assigned.pop(ws_id, None)
                if outcome == "skipped" or outcome.startswith("error") and \
                        self._states().get(ws_id) == "planned":
                    # Not retried in this run: it would fail the same way again.
                    self.ids = [i for i in self.ids if i != ws_id]
                self.idle += 1
                self.cond.notify_all()
        ledger.append(Change("worker", worker_id, "DRAINING", "drain"), Change("worker", worker_id, "TERMINATED", "exit"))
        self.heartbeats.remove(worker_id)

    def _fail(self, ws_id: str, err: Exception) -> str:
        """Record an unexpected error of a workstream's worker: the workstream (if this run
        holds it) is failed with the error as its reason. Returns the reason."""
        text = str(err) if isinstance(err, UetError) else f"{type(err).__name__}: {err}"
        reason = f"error: {text}"
        self.errors.append(f"{ws_id}: {text}")

        def decide(current: State) -> Batch:
            record = current.get("workstream", ws_id) or {}
            if record.get("state") != "running" or record.get("run") != self.run_id:
                return Batch([], [])
            return Batch([Change("workstream", ws_id, "failed", "error", {"reasons": [reason], "worker": None})], [])

        try:
            if decide(self.project.ledger.state()).changes:
                self.project.ledger.update(decide)
        except Exception as again:  # noqa: BLE001 - the ledger itself failing: said, not hidden
            self.errors.append(f"{ws_id}: could not record the failure: {again}")
        self.emit("ws-failed", {"workstream": ws_id, "reasons": [reason]})
        return text

    def _execute(self, ws_id: str, worker_id: str) -> str:
        spec = self.specs[ws_id]
        self.emit("ws-start", {"workstream": ws_id, "worker": worker_id})
        started = workstreams.start(self.project, ws_id, extra={"worker": worker_id, "run": self.run_id})
        if not started.created:
            # Another run (another process) started it between our read and our start.
            self.emit("ws-skipped", {"workstream": ws_id, "reason": "started by another run"})
            return "skipped"
        env = {"UET_WORKSTREAM": ws_id, "UET_RUN": self.run_id, "UET_WORKER": worker_id,
               "UET_WORKTREE": str(started.path)}
        runner = TaskRunner(self.project, spec, started.path, self.limits, env, self._task_event)
        outcome = runner.run_all()
        with self.cond:
            self.task_seconds += outcome.seconds
        if self.limits.cancelled.is_set():
            raise Cancelled
        if not outcome.ok:
            self.project.ledger.append(Change("workstream", ws_id, "failed", "tasks failed",
                                              {"reasons": outcome.reasons, "worker": None}))
            self.emit("ws-failed", {"workstream": ws_id, "reasons": outcome.reasons})
            return "failed"
        submitted = workstreams.submit(self.project, ws_id)
        if not submitted.ok:
            self.emit("ws-quarantined", {"workstream": ws_id, "reasons": submitted.reasons})
            return "quarantined"
        self.emit("ws-submitted", {"workstream": ws_id, "patch": submitted.patch_id})
        with self.cond:
            self.cond.notify_all()  # wake the integrator
        return "submitted"

    def _task_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "breaker":
            # A circuit opening or closing is a fact of the run: on its record, as it happens.
            self.project.ledger.append(Change("run", self.run_id, "running",
                                              f"circuit for {data['tool']} {data['state']}",
                                              {"breaker": self.limits.breaker_states()}))
        self.emit(kind, data)

    # -- the integrator ---------------------------------------------------------------------

    def _integrator(self) -> None:
        from gitflow_uet.integrate.integrator import integrate
        from gitflow_uet.integrate.lease import LeaseHeld

        failures = 0
        while True:
            with self.cond:
                queued = [i for i, s in self._states().items() if s == "submitted"]
                if self.limits.cancelled.is_set():
                    return  # what is queued stays queued for the next run
                if not queued:
                    if self.stopping:
                        return
                    self.cond.wait(timeout=0.5)
                    continue
                self.integrating = True
            begun = time.time()
            try:
                result = integrate(self.project, queued, on_event=self.emit, wait=30)
                failures = 0
                for ws_id in result.landed:
                    self.timeline.append({"workstream": ws_id, "worker": "integrator", "start": begun,
                                          "end": time.time(), "outcome": "integrated"})
            except LeaseHeld as err:
                self.emit("integrator-wait", {"reason": str(err)})
                time.sleep(1)
            except UetError as err:
                self.errors.append(f"integrator: {err}")
                self.emit("integrator-error", {"error": str(err)})
                failures += 1
                time.sleep(1)
            finally:
                with self.cond:
                    self.integrating = False
                    if failures >= 3:
                        # The queue stays queued for `git uet integrate` to report and retry.
                        self.integrator_gave_up = True
                    self.cond.notify_all()
            if failures >= 3:
                return


def run(project: Project, only: list[str] | None = None, *, workers: int | None = None,
        on_event: Emit | None = None, stop: threading.Event | None = None) -> RunResult:
    """Run the selected workstreams (all by default) to the end; see the module doc.
    Setting `stop` cancels the run: RunCancelled once it is wound down."""
    count = project.config.workers if workers is None else workers
    if count < 1:
        raise UsageError(f"--workers must be at least 1 (got {count})")
    specs = project.specs
    if not specs:
        raise UsageError(f"no workstreams in {project.config.workstreams}/: nothing to run")
    plan_from(specs, project.config.gates)  # cycles and unknown dependencies are bad input
    ids = selection(specs, only)
    emit = on_event or (lambda kind, data: None)
    recovered = recover(project)
    for ws_id in recovered:
        emit("ws-recovered", {"workstream": ws_id})
    result = Run(project, ids, count, emit, stop).execute()
    result.recovered = recovered
    return result
