"""Adapters: how one task of a workstream is carried out by a tool.

One small interface for every tool: the scheduler builds a `TaskRun`, asks `get_adapter`
for the tool named in the task, and gets back a `TaskResult`. An adapter never raises for
a failure of the tool itself (a missing executable, a crash, a timeout, a bad answer):
that is a failed `TaskResult` with a one-line `error`. Retries and fix loops are the
scheduler's job, not an adapter's.

Profiles are the config's `tools[<name>]` objects, read by attribute name only
(`command`, `timeout`, `max_output_bytes`, `env`, `base_url`, `model`, `api_key_env`), so
a plain namespace works as well as the pydantic model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gitflow_uet.errors import UsageError
from gitflow_uet.process import DEFAULT_MAX_OUTPUT, base_env

# The tools `get_adapter` knows; a task naming anything else is a usage error.
TOOLS = ("shell", "aider", "claude", "codex", "llm")


@dataclass(frozen=True)
class Usage:
    """What a tool reports having consumed; None where it does not say."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None

    @property
    def tokens(self) -> int | None:
        if self.tokens_in is None and self.tokens_out is None:
            return None
        return (self.tokens_in or 0) + (self.tokens_out or 0)

    @property
    def known(self) -> bool:
        return self.tokens is not None or self.cost_usd is not None

    @classmethod
    def from_report(cls, doc: Any) -> Usage:
        """Usage from a tool's JSON report, leniently: Claude Code's `usage.input_tokens`/
        `output_tokens` and `total_cost_usd` (older: `cost_usd`), or the OpenAI API's
        `usage.prompt_tokens`/`completion_tokens`. Anything else gives unknown fields."""
        if not isinstance(doc, dict):
            return cls()
        found = doc.get("usage")
        usage: dict[str, Any] = found if isinstance(found, dict) else {}
        tokens_in = _count(usage.get("input_tokens", usage.get("prompt_tokens")))
        tokens_out = _count(usage.get("output_tokens", usage.get("completion_tokens")))
        cost = _money(doc.get("total_cost_usd", doc.get("cost_usd")))
        return cls(tokens_in, tokens_out, cost)


@dataclass
class TaskRun:
    """One execution of one task, as the scheduler asks for it."""

    task_id: str
    tool: str
    run: str | None
    prompt: str | None
    worktree: Path
    context_files: list[str] = field(default_factory=list)   # relative to the worktree
    scope: list[str] | None = None                            # globs the change may touch
    timeout: float = 600.0
    max_output: int = DEFAULT_MAX_OUTPUT
    env: dict[str, str] = field(default_factory=dict)         # extra variables (UET_WORKSTREAM, ...)
    passthrough: list[str] = field(default_factory=list)      # names from the tool profile
    feedback_file: Path | None = None                         # the previous round's failure output


@dataclass
class TaskResult:
    ok: bool
    exit: int | None
    output: bytes
    seconds: float
    timed_out: bool = False
    truncated: bool = False
    usage: Usage = field(default_factory=Usage)
    error: str | None = None   # one line; None when ok

    @classmethod
    def failure(cls, error: str, *, seconds: float = 0.0, output: bytes = b"",
                usage: Usage | None = None, timed_out: bool = False) -> TaskResult:
        return cls(ok=False, exit=None, output=output, seconds=seconds, timed_out=timed_out,
                   usage=usage or Usage(), error=one_line(error))

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")


class Adapter(Protocol):
    name: str

    def run(self, task: TaskRun) -> TaskResult: ...


def get_adapter(tool: str, profile: Any = None) -> Adapter:
    """The adapter for `tool`, configured by its profile (the config's `tools[tool]`, or None)."""
    # Imported here: each adapter module imports this one for the shared types.
    if tool == "shell":
        from gitflow_uet.run.adapters.shell import ShellAdapter

        return ShellAdapter(profile)
    if tool in ("aider", "claude", "codex"):
        from gitflow_uet.run.adapters.agents import AgentAdapter

        return AgentAdapter(tool, profile)
    if tool == "llm":
        from gitflow_uet.run.adapters.llm import LLMAdapter

        return LLMAdapter(profile)
    raise UsageError(f"unknown tool {tool!r} (known: {', '.join(TOOLS)})")


# -- shared by the adapters ------------------------------------------------------------------


def limits(task: TaskRun, profile: Any) -> tuple[float, int]:
    """(timeout, max_output) for a task: the profile's timeout caps the task's, and its
    max_output_bytes replaces the task's cap."""
    timeout = task.timeout
    cap = getattr(profile, "timeout", None)
    if cap:
        timeout = min(timeout, float(cap)) if timeout else float(cap)
    max_output = getattr(profile, "max_output_bytes", None) or task.max_output
    return timeout, int(max_output)


def task_env(task: TaskRun, profile: Any, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The clean environment a tool runs in: the basics, the profile's and the task's
    pass-through names, the task's variables, and UET_FEEDBACK_FILE in a fix round."""
    names = [*task.passthrough, *(getattr(profile, "env", None) or [])]
    variables = dict(task.env)
    if task.feedback_file is not None:
        variables["UET_FEEDBACK_FILE"] = str(task.feedback_file)
    variables.update(extra or {})
    return base_env(names, variables)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return max(int(value), 0)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _money(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    # A NaN or negative cost would poison every budget comparison after it.
    return number if math.isfinite(number) and number >= 0 else None


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def cap_bytes(data: bytes, limit: int) -> tuple[bytes, bool]:
    """The first and last halves of `data` when it is over `limit`, as process.py keeps them."""
    if len(data) <= limit:
        return data, False
    half = max(limit // 2, 1)
    dropped = len(data) - 2 * half
    marker = f"\n[... {dropped} bytes of output dropped ...]\n".encode()
    return data[:half] + marker + data[-half:], True


def result_from_process(done: Any, *, usage: Usage | None = None) -> TaskResult:
    """A TaskResult from a process.ProcessResult."""
    error = None if done.ok else done.summary()
    return TaskResult(ok=done.ok, exit=done.code, output=done.output, seconds=done.seconds,
                      timed_out=done.timed_out, truncated=done.truncated,
                      usage=usage or Usage(), error=error)


__all__ = ["TOOLS", "Adapter", "TaskResult", "TaskRun", "Usage", "get_adapter"]
