from __future__ import annotations

import threading
from types import SimpleNamespace

from gitflow_uet.run.adapters import Usage
from gitflow_uet.run.breaker import CircuitBreaker
from gitflow_uet.run.budget import Budget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- breaker ---------------------------------------------------------------------------------


def test_opens_after_threshold_consecutive_failures_and_fails_fast() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=60, clock=Clock())
    assert breaker.record("llm", False) is None
    assert breaker.record("llm", True) is None  # a success resets the count
    assert breaker.record("llm", False) is None
    assert breaker.record("llm", False) is None
    assert breaker.allow("llm")
    assert breaker.record("llm", False) == "opened"
    assert breaker.state("llm") == "open"
    assert not breaker.allow("llm")
    assert breaker.allow("claude") and breaker.state("claude") == "closed"  # per tool
    # A late failure of a task started before the circuit opened is no new event.
    assert breaker.record("llm", False) is None


def test_half_open_trial_after_cooldown_closes_on_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=60, clock=clock)
    assert breaker.record("llm", False) == "opened"
    clock.now += 59
    assert not breaker.allow("llm")
    clock.now += 1
    assert breaker.allow("llm")  # the one trial
    assert breaker.state("llm") == "half_open"
    assert not breaker.allow("llm")  # no second task while the trial runs
    assert breaker.record("llm", True) == "closed"
    assert breaker.state("llm") == "closed"
    assert breaker.allow("llm") and breaker.allow("llm")


def test_failed_trial_reopens_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=clock)
    breaker.record("codex", False)
    assert breaker.record("codex", False) == "opened"
    clock.now += 10
    assert breaker.allow("codex")
    assert breaker.record("codex", False) == "opened"  # one failed trial is enough
    clock.now += 9
    assert not breaker.allow("codex")
    clock.now += 1
    assert breaker.allow("codex")


def test_breaker_lets_one_trial_through_under_contention() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=1, clock=clock)
    breaker.record("llm", False)
    clock.now += 5
    allowed: list[bool] = []
    threads = [threading.Thread(target=lambda: allowed.append(breaker.allow("llm"))) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 1


# -- budget ----------------------------------------------------------------------------------


def test_unlimited_budget_is_never_exhausted() -> None:
    budget = Budget(None, None)
    budget.charge("ws-1", Usage(10**9, 10**9, 10**6))
    assert budget.exhausted() is None


def test_token_budget_exhausted_reason() -> None:
    budget = Budget(tokens=1000)
    assert budget.charge("ws-1", Usage(tokens_in=500, tokens_out=100)) is None
    assert budget.exhausted() is None
    assert budget.charge("ws-2", Usage(tokens_in=600, tokens_out=None)) == "token budget spent: 1200/1000"
    assert budget.exhausted() == "token budget spent: 1200/1000"
    assert budget.for_workstream("ws-1")["tokens"] == 600
    assert budget.for_workstream("ws-2")["tokens"] == 600


def test_cost_budget_exhausted_reason_and_report() -> None:
    budget = Budget.from_config(SimpleNamespace(tokens=None, cost_usd=1.0))
    budget.charge("ws-1", Usage(cost_usd=0.4))
    budget.charge("ws-1", Usage())  # a tool that reports nothing
    assert budget.exhausted() is None
    budget.charge("ws-2", Usage(tokens_in=10, tokens_out=5, cost_usd=0.65))
    assert budget.exhausted() == "cost budget spent: $1.05/$1.00"
    spent = budget.spent
    assert spent["tokens"] == 15
    assert spent["cost_usd"] == 1.05
    assert spent["unmetered"] == 1
    assert spent["limits"] == {"tokens": None, "cost_usd": 1.0}
    assert spent["workstreams"]["ws-1"] == {"tokens": 0, "cost_usd": 0.4, "unmetered": 1}
    assert list(spent["workstreams"]) == ["ws-1", "ws-2"]


def test_budget_charges_from_many_threads_add_up() -> None:
    budget = Budget(tokens=None)

    def work() -> None:
        for _ in range(500):
            budget.charge("ws-1", Usage(tokens_in=1, tokens_out=1, cost_usd=0.01))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert budget.spent["tokens"] == 8000
    assert abs(budget.spent["cost_usd"] - 40.0) < 1e-6
