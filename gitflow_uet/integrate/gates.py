"""Gates: named shell commands (`gates:` in the config) that decide whether a tree is green.

A gate runs at the root of the folder it is given (a worktree, the integrator's candidate,
a hook's export of the index) through `process.run`: own process group, timeout, capped
output. It sees a clean environment plus `UET_GATE=<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gitflow_uet import process
from gitflow_uet.errors import UetError, UsageError


class GatesFailed(UetError):
    """Gates ran and at least one is red: a negative outcome (exit 1), not a usage error."""

    exit_code = 1


@dataclass
class GateResult:
    name: str
    ok: bool
    exit: int | None          # None when killed at the timeout
    seconds: float
    output: bytes             # stdout and stderr merged, capped
    timed_out: bool = False
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def summary(self) -> str:
        """`ok`, `exit 1` or `timed out`: what happened, in a word or two."""
        if self.timed_out:
            return "timed out"
        return "ok" if self.ok else f"exit {self.exit}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "exit": self.exit, "seconds": round(self.seconds, 3),
                "timed_out": self.timed_out, "truncated": self.truncated, "output": self.text}


def check_names(names: list[str], commands: dict[str, str]) -> None:
    """Refuse unknown gate names, all of them in one message, before anything runs."""
    unknown = [name for name in names if name not in commands]
    if unknown:
        known = ", ".join(sorted(commands)) or "none defined"
        listed = ", ".join(repr(name) for name in unknown)
        raise UsageError(f"unknown gate {listed} (gates in .uet/config.yaml: {known})")


def run_gates(
    names: list[str],
    commands: dict[str, str],
    cwd: Path,
    *,
    timeout: float,
    max_output: int,
    env_extra: dict[str, str] | None = None,
    on_result: Callable[[GateResult], None] | None = None,
    stop_on_failure: bool = True,
) -> list[GateResult]:
    """Run the gates `names` (commands looked up in `commands`) one after the other at `cwd`.

    Returns a result per gate run; with `stop_on_failure` the first red gate ends the run
    (the ones after it are not run and have no result). `on_result` sees each result as
    soon as its gate finishes, for live progress.
    """
    check_names(names, commands)
    results: list[GateResult] = []
    for name in names:
        env = process.base_env(extra={**(env_extra or {}), "UET_GATE": name})
        done = process.run(commands[name], cwd=cwd, env=env, timeout=timeout, max_output=max_output)
        result = GateResult(name=name, ok=done.ok, exit=done.code, seconds=done.seconds,
                            output=done.output, timed_out=done.timed_out, truncated=done.truncated)
        results.append(result)
        if on_result is not None:
            on_result(result)
        if stop_on_failure and not result.ok:
            break
    return results
