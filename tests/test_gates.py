"""Gates: run_gates (the core the integrator calls) and `git uet gate` (the CLI)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from gitflow_uet.errors import UsageError
from gitflow_uet.integrate.gates import GateResult, run_gates
from tests.helpers import make_repo, uet, write

LIMITS = {"timeout": 30.0, "max_output": 100_000}


def configure(repo: Path, gates: dict[str, str], integrate: list[str] | None = None,
              pre_commit: list[str] | None = None, pre_push: list[str] | None = None,
              **extra: object) -> None:
    doc = {"schema_version": 1, "gates": gates, "integrate_gates": integrate or [],
           "hook_gates": {"pre-commit": pre_commit or [], "pre-push": pre_push or []}, **extra}
    write(repo / ".uet" / "config.yaml", yaml.safe_dump(doc, sort_keys=False))


# -- run_gates --------------------------------------------------------------------------------

def test_green_and_red_gates(tmp_path: Path) -> None:
    commands = {"green": "echo fine", "red": "echo broken >&2; exit 3"}
    results = run_gates(["green", "red"], commands, tmp_path, **LIMITS)
    assert [(r.name, r.ok, r.exit) for r in results] == [("green", True, 0), ("red", False, 3)]
    assert results[0].output == b"fine\n"
    assert results[1].output == b"broken\n"
    assert not results[1].timed_out and results[1].summary() == "exit 3"


def test_first_red_gate_stops_the_run_unless_asked_not_to(tmp_path: Path) -> None:
    commands = {"red": "exit 1", "after": "touch ran"}
    stopped = run_gates(["red", "after"], commands, tmp_path, **LIMITS)
    assert [r.name for r in stopped] == ["red"]
    assert not (tmp_path / "ran").exists()
    every = run_gates(["red", "after"], commands, tmp_path, stop_on_failure=False, **LIMITS)
    assert [(r.name, r.ok) for r in every] == [("red", False), ("after", True)]
    assert (tmp_path / "ran").exists()


def test_on_result_sees_each_gate_as_it_finishes(tmp_path: Path) -> None:
    seen: list[str] = []

    def record(result: GateResult) -> None:
        # The next gate has not started yet when this one is reported.
        seen.append(f"{result.name}:{(tmp_path / 'second').exists()}")

    run_gates(["first", "second"], {"first": "true", "second": "touch second"}, tmp_path,
              on_result=record, **LIMITS)
    assert seen == ["first:False", "second:True"]


def test_gate_runs_at_the_given_root_with_its_name_and_extra_env(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("UET_LEAK", "leaked")
    (tmp_path / "marker").write_text("")
    command = 'test -f marker && echo "gate=$UET_GATE extra=$EXTRA leak=${UET_LEAK:-none}"'
    [result] = run_gates(["where"], {"where": command}, tmp_path, env_extra={"EXTRA": "x"}, **LIMITS)
    assert result.ok, result.output
    assert result.output == b"gate=where extra=x leak=none\n"


def test_unknown_gate_is_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'nope'") as err:
        run_gates(["first", "nope"], {"first": "touch ran"}, tmp_path, **LIMITS)
    assert "first" in str(err.value)  # the known gates are listed
    assert not (tmp_path / "ran").exists()


def test_hanging_gate_is_killed_at_its_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    [result] = run_gates(["hang"], {"hang": "sleep 300"}, tmp_path, timeout=0.5, max_output=1000)
    assert time.monotonic() - started < 90  # not the 300 s of its sleep
    assert not result.ok and result.timed_out and result.exit is None
    assert result.summary() == "timed out"


def test_output_is_capped(tmp_path: Path) -> None:
    [result] = run_gates(["loud"], {"loud": "seq 1 100000"}, tmp_path, timeout=30, max_output=1000)
    assert result.ok and result.truncated
    assert len(result.output) < 1200 and b"dropped" in result.output


# -- git uet gate -----------------------------------------------------------------------------

@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    configure(repo, {"green": "echo all good", "red": "echo 'it broke here'; exit 1",
                     "rooted": "test -f README.md"},
              integrate=["green", "rooted"], pre_commit=["red"], pre_push=["green"])
    return repo


def test_cli_default_runs_integrate_gates(repo: Path) -> None:
    done = uet(repo, "gate")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:2] == ["ok", "green"]
    assert lines[1].split()[:2] == ["ok", "rooted"]
    assert "all good" not in done.stdout  # only red gates show their output


def test_cli_red_gate_exits_1_and_shows_its_output(repo: Path) -> None:
    done = uet(repo, "gate", "green", "red")
    assert done.returncode == 1
    assert done.stdout.splitlines()[1].split()[:4] == ["FAIL", "red", "exit", "1"]
    assert "it broke here" in done.stdout
    assert "red" in done.stderr


def test_cli_unknown_gate_exits_2(repo: Path) -> None:
    done = uet(repo, "gate", "green", "missing")
    assert done.returncode == 2
    assert "missing" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""  # nothing ran


def test_cli_runs_at_the_worktree_root_from_a_subfolder(repo: Path) -> None:
    (repo / "sub").mkdir()
    done = uet(repo / "sub", "gate", "rooted")
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_hook_option_runs_the_hook_gates(repo: Path) -> None:
    assert uet(repo, "gate", "--hook", "pre-push").returncode == 0
    red = uet(repo, "gate", "--hook", "pre-commit")
    assert red.returncode == 1 and "FAIL red" in red.stdout
    assert uet(repo, "gate", "--hook", "post-merge").returncode == 2
    assert uet(repo, "gate", "--hook", "pre-push", "green").returncode == 2


def test_cli_json(repo: Path) -> None:
    done = uet(repo, "gate", "--json", "green", "red")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["ok"] is False
    assert [(g["name"], g["ok"], g["exit"]) for g in doc["gates"]] == [("green", True, 0), ("red", False, 1)]
    assert doc["gates"][1]["output"] == "it broke here\n"
    green = json.loads(uet(repo, "gate", "--json", "green").stdout)
    assert green["ok"] is True


def test_cli_no_gates_is_green(repo: Path) -> None:
    configure(repo, {"green": "true"}, integrate=[])
    done = uet(repo, "gate")
    assert done.returncode == 0 and "no gates" in done.stdout


def test_cli_gate_timeout_from_config(repo: Path) -> None:
    configure(repo, {"hang": "sleep 300"}, integrate=["hang"], gate_timeout=1)
    started = time.monotonic()
    done = uet(repo, "gate")
    assert time.monotonic() - started < 90  # not the 300 s of its sleep
    assert done.returncode == 1
    assert "timed out" in done.stdout
