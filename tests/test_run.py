from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from gitflow_uet.project import Project
from gitflow_uet.run.runner import RunResult, run
from tests.helpers import (aged, alive, git, make_repo, pid_in, process_state, stale_lock_age, uet, wait_gone,
                           wait_until, with_growing_timeout, write, write_spec)

CONFIG = {"schema_version": 1, "gates": {}, "integrate_gates": [],
          "hook_gates": {"pre-commit": [], "pre-push": []}}


def repo_with(tmp_path: Path, specs: dict[str, dict], **config: object) -> Path:
    repo = make_repo(tmp_path / "repo")
    write(repo / ".uet" / "config.yaml", yaml.safe_dump({**CONFIG, **config}))
    for ws_id, fields in specs.items():
        write_spec(repo, ws_id, **fields)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "specs")
    return repo


def shell(command: str, **task: object) -> list[dict]:
    return [{"id": "edit", "run": command, **task}]


def landed(repo: Path) -> list[str]:
    """Workstream ids in the order their commits sit on main, oldest first."""
    out = git(repo, "log", "--reverse", "--format=%(trailers:key=Uet-Workstream,valueonly)", "main")
    return [line.strip() for line in out.splitlines() if line.strip()]


def states(repo: Path) -> dict[str, str]:
    doc = json.loads(uet(repo, "status", "--json").stdout)
    return {w["id"]: w["state"] for w in doc["workstreams"]}


def test_dag_lands_in_dependency_order_and_failure_blocks_only_dependents(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {
        "a": {"tasks": shell("echo a > a.txt")},
        "b": {"depends_on": ["a"], "tasks": shell("test -e a.txt && echo b > b.txt")},
        "c": {"depends_on": ["a"], "tasks": shell("test -e a.txt && echo c > c.txt")},
        "d": {"depends_on": ["b", "c"], "tasks": shell("test -e b.txt && test -e c.txt && echo d > d.txt")},
        "f": {"tasks": shell("exit 3")},
        "g": {"depends_on": ["f"], "tasks": shell("echo g > g.txt")},
        "h": {"depends_on": ["g"], "tasks": shell("echo h > h.txt")},
    })
    done = uet(repo, "run", "--workers", "3")
    assert done.returncode == 1, done.stderr
    order = landed(repo)
    assert sorted(order) == ["a", "b", "c", "d"]
    assert order[0] == "a" and order[-1] == "d"
    assert states(repo) == {"a": "integrated", "b": "integrated", "c": "integrated", "d": "integrated",
                            "f": "failed", "g": "blocked", "h": "blocked"}
    show = json.loads(uet(repo, "show", "g", "--json").stdout)
    assert "dependency f is failed" in show["record"]["reasons"][0]
    assert "f: failed" in done.stdout or "failed: f" in done.stdout


def test_hanging_task_is_killed_at_timeout_with_nothing_left_behind(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"

    def attempt(timeout: float) -> tuple[Project, RunResult]:
        # A fresh repository per attempt; the pid is renamed into place, whole or not at all.
        pidfile.unlink(missing_ok=True)
        command = f"sleep 300 & echo $! > {pidfile}.tmp && mv {pidfile}.tmp {pidfile}; sleep 300"
        repo = repo_with(tmp_path / f"t{timeout:g}", {"hang": {"tasks": shell(command, timeout=timeout)}})
        started = time.monotonic()
        project = Project.open(repo)
        result = run(project, workers=1)
        assert time.monotonic() - started < timeout + 60  # not the 300 s of its sleeps
        return project, result

    project, result = with_growing_timeout(attempt, lambda _: pidfile.exists())
    assert result.states == {"hang": "failed"}
    record = project.ledger.state().get("workstream", "hang")
    assert record["tasks"]["edit"]["timed_out"] is True
    assert wait_gone(int(pidfile.read_text()))


def test_retries_then_success(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    script = f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; " \
             f"test $n -ge 3 && echo ok > r.txt"
    repo = repo_with(tmp_path, {"r": {"tasks": shell(script, retries=2)}})
    result = run(Project.open(repo), workers=1)
    assert result.states == {"r": "integrated"}
    assert counter.read_text().strip() == "3"
    record = Project.open(repo).ledger.state().get("workstream", "r")
    assert record["tasks"]["edit"]["attempts"] == 3


def test_fix_loop_passes_on_second_round_with_feedback(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"fx": {"tasks": [
        # `edit` writes a wrong value first; once it sees feedback it writes the right one
        {"id": "edit", "run": 'if [ -n "$UET_FEEDBACK_FILE" ]; then grep -q "want 42" "$UET_FEEDBACK_FILE" '
                              '&& echo 42 > v.txt; else echo 41 > v.txt; fi'},
        {"id": "check", "run": 'test "$(cat v.txt)" = 42 || { echo "want 42"; exit 1; }', "fix": "edit"},
    ]}})
    project = Project.open(repo)
    result = run(project, workers=1)
    assert result.states == {"fx": "integrated"}
    assert git(repo, "show", "main:v.txt") == "42"
    state = project.ledger.state()
    record = state.get("workstream", "fx")
    assert record["tasks"]["check"]["rounds"] == 1
    # every task's log resolves to what it printed, whichever append stored it
    assert state.blob(record["tasks"]["edit"]["log"]["blob"]) == b""
    assert record["tasks"]["check"]["log"]["size"] == 0
    events = [c["event"] for e in project.ledger.log("fx") for c in e.changes]
    assert "fix round 1 of check" in events


def test_fix_loop_gives_up_after_max_rounds(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"nofix": {"tasks": [
        {"id": "edit", "run": "echo 1 > v.txt"},
        {"id": "check", "run": "exit 1", "fix": "edit"},
    ]}}, max_fix_rounds=2)
    project = Project.open(repo)
    result = run(project, workers=1)
    assert result.states == {"nofix": "failed"}
    reasons = project.ledger.state().get("workstream", "nofix")["reasons"]
    assert reasons == ["task check failed: exit 1 after 2 fix rounds"]


def _spans(repo: Path) -> dict[str, tuple[float, float]]:
    return {p.stem: tuple(map(float, p.read_text().split())) for p in (repo.parent / "spans").glob("*")}


def _timed(ws_id: str, spans: Path, meet: tuple[str, ...]) -> str:
    """Records when it started and ended in `spans`; in between it waits (up to 60 s) until one
    of `meet` has started, so workstreams the pool may run side by side provably overlap
    however loaded the machine is. The sleep only widens the span, for the checks that two
    workstreams never overlap."""
    started = spans.parent / "started"
    others = " -o ".join(f"-e {started / o}" for o in meet)
    return (f"s=$(date +%s.%N); touch {started / ws_id}; n=0; "
            f"until [ {others} ] || [ $n -ge 1200 ]; do sleep 0.05; n=$((n+1)); done; "
            f"sleep 0.3; echo {ws_id} > {ws_id}.txt; echo $s $(date +%s.%N) > {spans}/{ws_id}")


def test_shared_resource_and_overlapping_scopes_never_run_at_once(tmp_path: Path) -> None:
    spans = tmp_path / "spans"
    spans.mkdir()
    (tmp_path / "started").mkdir()
    rs, others = ("r1", "r2"), ("s1", "s2", "free")
    repo = repo_with(tmp_path, {
        "r1": {"resources": ["db"], "tasks": shell(_timed("r1", spans, others))},
        "r2": {"resources": ["db"], "tasks": shell(_timed("r2", spans, others))},
        "s1": {"scope": ["src/**", "s1.txt"], "tasks": shell(_timed("s1", spans, rs))},
        "s2": {"scope": ["src/core/**", "s2.txt"], "tasks": shell(_timed("s2", spans, rs))},
        "free": {"scope": ["free.txt"], "tasks": shell(_timed("free", spans, rs))},
    })
    result = run(Project.open(repo), workers=4)
    assert set(result.states.values()) == {"integrated"}
    got = _spans(repo)

    def overlap(a: str, b: str) -> bool:
        return got[a][0] < got[b][1] and got[b][0] < got[a][1]

    assert not overlap("r1", "r2")
    assert not overlap("s1", "s2")
    # and the pool really ran things side by side
    assert any(overlap(x, y) for x in ("r1", "r2") for y in ("s1", "s2", "free"))


def test_circuit_breaker_fails_fast_after_consecutive_failures(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "calls"
    tool = bindir / "claude"
    tool.write_text(f"#!/bin/sh\necho call >> {calls}\nexit 1\n")
    tool.chmod(0o755)
    specs = {f"ag{n}": {"priority": "HIGH" if n < 3 else "LOW",
                        "tasks": [{"id": "edit", "tool": "claude", "prompt": "do it"}]} for n in range(5)}
    repo = repo_with(tmp_path, specs, tools={"claude": {"command": str(tool) + " {prompt}",
                                                       "breaker_failures": 2, "breaker_cooldown": 600}})
    project = Project.open(repo)
    result = run(project, workers=1)
    assert set(result.states.values()) == {"failed"}
    assert len(calls.read_text().splitlines()) == 2
    reasons = [project.ledger.state().get("workstream", f"ag{n}")["reasons"][0] for n in range(5)]
    assert sum("circuit open for tool claude" in r for r in reasons) == 3
    run_record = project.ledger.state().get("run", result.run_id)
    assert run_record["breaker"]["claude"] == "open"
    events = [c["event"] for e in project.ledger.log(result.run_id) for c in e.changes]
    assert "circuit for claude opened" in events


def test_budget_spent_stops_new_tasks(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "claude"
    tool.write_text('#!/bin/sh\necho "$UET_WORKSTREAM" > "$UET_WORKSTREAM.txt"\n'
                    'echo \'{"result": "ok", "usage": {"input_tokens": 600, "output_tokens": 100}}\'\n')
    tool.chmod(0o755)
    specs = {f"b{n}": {"tasks": [{"id": "edit", "tool": "claude", "prompt": "x"}]} for n in range(3)}
    repo = repo_with(tmp_path, specs, budget={"tokens": 1000, "cost_usd": None},
                     tools={"claude": {"command": str(tool) + " {prompt}"}})
    project = Project.open(repo)
    result = run(project, workers=1)
    assert result.states == {"b0": "integrated", "b1": "integrated", "b2": "failed"}
    reason = project.ledger.state().get("workstream", "b2")["reasons"][0]
    assert "token budget spent: 1400/1000" in reason
    assert project.ledger.state().get("run", result.run_id)["usage"]["tokens"] == 1400


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"a": {"tasks": shell("true")}})
    done = uet(repo, "run", "--workers", "0")
    assert done.returncode == 2 and done.stderr.strip() == "git uet: --workers must be at least 1 (got 0)"
    assert uet(repo, "log", "--json").stdout.count('"run"') == 0  # nothing was recorded
    done = uet(repo, "run", "nope")
    assert done.returncode == 2
    assert done.stderr.strip() == "git uet: unknown workstream 'nope'"
    write_spec(repo, "b", depends_on=["c"], tasks=shell("true"))
    write_spec(repo, "c", depends_on=["b"], tasks=shell("true"))
    done = uet(repo, "run")
    assert done.returncode == 2 and "cycle" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_kill_mid_run_then_resume_lands_each_workstream_once(tmp_path: Path) -> None:
    # k0 and k1 land at once; the others wait (up to 60 s) for the test's go-ahead, so the
    # kill comes when exactly two have landed, however loaded the machine.
    go = tmp_path / "go"
    hold = f"n=0; until [ -e {go} ] || [ $n -ge 1200 ]; do sleep 0.05; n=$((n+1)); done; "
    specs = {f"k{n}": {"priority": "HIGH" if n < 2 else "MEDIUM",
                       "tasks": shell(f"{hold if n > 1 else ''}echo {n} > k{n}.txt")} for n in range(8)}
    specs["k8"] = {"depends_on": ["k0", "k1"], "tasks": shell(f"{hold}echo 8 > k8.txt")}
    repo = repo_with(tmp_path, specs)
    proc = subprocess.Popen([sys.executable, "-m", "gitflow_uet", "run", "--workers", "3"], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # kill -9 of the run once something has landed but not all. (Its git children finish
        # what they were doing; tasks it left running finish on their own once told to go.)
        wait_until(lambda: len(landed(repo)) >= 2, what="two workstreams landed")
    finally:
        proc.kill()
        proc.wait()
    assert sorted(landed(repo)) == ["k0", "k1"]
    go.write_text("")
    done = uet(repo, "run", "--workers", "3")
    assert done.returncode == 0, done.stderr
    order = landed(repo)
    assert sorted(order) == sorted(specs)  # every one, none twice
    assert set(states(repo).values()) == {"integrated"}
    assert order.index("k8") > max(order.index("k0"), order.index("k1"))
    assert git(repo, "worktree", "list").count("\n") == 0  # only the main checkout is left


def test_llm_workstream_lands_through_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fake_llm import FakeLLM

    answer = ("Here is the change:\n```diff\n"
              "diff --git a/hello.txt b/hello.txt\nnew file mode 100644\n--- /dev/null\n+++ b/hello.txt\n"
              "@@ -0,0 +1 @@\n+hello from the model\n```\n")
    monkeypatch.setenv("FAKE_KEY", "sk-test-not-a-real-key-000000")
    with FakeLLM(answer) as llm:
        repo = repo_with(tmp_path, {"m": {"scope": ["hello.txt"], "tasks": [
            {"id": "edit", "tool": "llm", "prompt": "create hello.txt"}]}},
            tools={"llm": {"base_url": llm.base_url, "model": "fake", "api_key_env": "FAKE_KEY"}})
        result = run(Project.open(repo), workers=1)
        assert llm.requests and llm.requests[0]["headers"]["Authorization"] == "Bearer sk-test-not-a-real-key-000000"
    assert result.states == {"m": "integrated"}
    assert git(repo, "show", "main:hello.txt") == "hello from the model"
    # the key is in no ledger blob
    assert "sk-test" not in git(repo, "log", "-p", "refs/uet")


def test_json_progress_streams_one_event_per_line(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"a": {"tasks": shell("echo a > a.txt")}})
    done = uet(repo, "run", "--json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run-start" and kinds[-1] == "run-end"
    assert {"ws-start", "task-end", "ws-submitted", "landed"} <= set(kinds)


@pytest.mark.slow
def test_two_runs_at_once_land_each_workstream_exactly_once(tmp_path: Path) -> None:
    specs = {f"p{n}": {"tasks": shell(f"sleep 0.3; echo {n} > p{n}.txt")} for n in range(6)}
    repo = repo_with(tmp_path, specs)
    procs = [subprocess.Popen([sys.executable, "-m", "gitflow_uet", "run", "--workers", "2"], cwd=repo,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert sorted(landed(repo)) == sorted(specs), errors
    assert set(states(repo).values()) == {"integrated"}


def test_lock_left_by_a_killed_git_is_reported_not_ignored(tmp_path: Path) -> None:
    """Killing a run's whole process group can kill `git update-ref` holding refs/uet.lock.
    A git lock names no owner, so the next run cannot prove it stale: it says where the
    lock is and how old, and exits 2 rather than guess."""
    repo = repo_with(tmp_path, {"a": {"tasks": shell("echo a > a.txt")}})
    assert uet(repo, "run").returncode == 0
    lock = repo / ".git" / "refs" / "uet.lock"
    lock.write_text("")
    aged(lock, 3600)
    write_spec(repo, "b", tasks=shell("echo b > b.txt"))
    done = uet(repo, "run")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert 3600 <= stale_lock_age(done.stderr, lock) < 3600 + 600
    lock.unlink()
    assert uet(repo, "run").returncode == 0
    assert landed(repo) == ["a", "b"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_stops_its_tasks_and_the_next_run_carries_on(tmp_path: Path, sig: int) -> None:
    flag, pidfile = tmp_path / "flag", tmp_path / "pid"
    # The task's child ignores TERM: it must be killed all the same, and be gone by the
    # time the run exits.
    slow = (f"if [ -e {flag} ]; then echo done > s.txt; "
            f"else sh -c \"trap '' TERM; sleep 300\" & echo $$ $! > {pidfile}; wait; fi")
    repo = repo_with(tmp_path, {"slow": {"tasks": shell(slow)}, "quick": {"tasks": shell("echo q > q.txt")}})
    proc = subprocess.Popen([sys.executable, "-m", "gitflow_uet", "run", "--workers", "2"], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: landed(repo) == ["quick"] and pidfile.exists() and pidfile.read_text().endswith("\n"),
                   what="quick landed, slow running")
        proc.send_signal(sig)
        # Stopping is prompt: the task it must stop sleeps for 300 s.
        stderr = proc.communicate(timeout=90)[1]
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 128 + sig and "back to planned (slow)" in stderr, stderr
    for pid in map(int, pidfile.read_text().split()):
        assert not alive(pid), f"task process {pid} outlived the cancelled run"
    project = Project.open(repo)
    state = project.ledger.state()
    record = state.get("workstream", "slow")
    assert record["state"] == "planned" and "was cancelled" in record["reasons"][0]
    assert [r["state"] for r in state.all("run")] == ["cancelled"]
    assert git(repo, "branch", "--list", "uet/*") == ""
    flag.write_text("")
    assert uet(repo, "run").returncode == 0
    assert landed(repo) == ["quick", "slow"]


def _zombie(pid: int) -> bool:
    return process_state(pid) == "Z"


@pytest.mark.slow
def test_run_killed_with_its_group_is_recovered_at_once_though_still_a_zombie(tmp_path: Path) -> None:
    """kill -9 of `git uet run`'s process group leaves the run a zombie until its parent
    reaps it; kill(pid, 0) still finds a zombie. The next run must see its workers as dead,
    redo their workstreams and land them, not leave them `running` and exit 0."""
    flag = tmp_path / "flag"
    specs = {w: {"tasks": shell(f"if [ -e {flag} ]; then echo {w} > {w}.txt; "
                                f"else echo $$ > {tmp_path / w}.pid; sleep 300; fi")} for w in ("a", "b")}
    repo = repo_with(tmp_path, specs)
    proc = subprocess.Popen([sys.executable, "-m", "gitflow_uet", "run", "--workers", "2"], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: all(pid_in(tmp_path / f"{w}.pid") for w in specs), what="both tasks started")
        os.killpg(proc.pid, signal.SIGKILL)
        # not reaped: we are its parent and have not waited
        wait_until(lambda: _zombie(proc.pid), what="the killed run to be a zombie")
        flag.write_text("")
        done = uet(repo, "run", "--workers", "2")
        assert _zombie(proc.pid)  # still a zombie all along the second run
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the test failed before its kill
        proc.wait()
    assert done.returncode == 0, done.stderr
    assert states(repo) == {"a": "integrated", "b": "integrated"}
    assert sorted(landed(repo)) == ["a", "b"]


def test_tasks_die_with_a_run_killed_with_its_group(tmp_path: Path) -> None:
    """kill -9 of the run's process group (what a terminal or CI does): the tasks, in
    process groups of their own, and their children must not keep running."""
    pids = tmp_path / "pids"
    repo = repo_with(tmp_path, {"t": {"tasks": shell(f"sleep 600 & echo $$ $! > {pids}; wait")}})
    proc = subprocess.Popen([sys.executable, "-m", "gitflow_uet", "run"], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: pids.exists() and pids.read_text().endswith("\n"), what="the task to start")
        task, grandchild = map(int, pids.read_text().split())
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert wait_gone(task, 30), f"task {task} outlived its run"
    assert wait_gone(grandchild, 30), f"the task's child {grandchild} outlived the run"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_interrupted_as_it_starts_is_cancelled_not_left_running(tmp_path: Path, sig: int) -> None:
    """`timeout -s INT 2 git uet run`: the signal comes while the run is still setting up
    (its record written, its workers starting). What the message says must be true: the
    run record cancelled, nothing left running, exit 128 + signal."""
    repo = repo_with(tmp_path, {w: {"tasks": shell("sleep 300")} for w in ("a", "b", "c")})
    proc = subprocess.Popen([sys.executable, "-m", "gitflow_uet", "run", "--json", "--workers", "3"], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # run-start: the record exists, the workers are starting
    assert json.loads(first)["event"] == "run-start"
    proc.send_signal(sig)
    stderr = proc.communicate(timeout=60)[1]
    assert proc.returncode == 128 + sig, stderr
    assert "is cancelled" in stderr and "Traceback" not in stderr
    state = Project.open(repo).ledger.state()
    assert [r["state"] for r in state.all("run")] == ["cancelled"]
    assert {ws["state"] for ws in state.all("workstream")} <= {"planned"}
    assert all(w["state"] == "TERMINATED" for w in state.all("worker"))


def test_llm_answer_that_is_not_valid_text_fails_its_workstream_and_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lone surrogate in the answer's JSON left the workstream `running` with no reason
    and `run` exited 0 saying `0/0 integrated`."""
    from tests.fake_llm import FakeLLM

    answer = ("```diff\ndiff --git a/hello.txt b/hello.txt\nnew file mode 100644\n--- /dev/null\n"
              "+++ b/hello.txt\n@@ -0,0 +1 @@\n+hello \ud800 there\n```\n")
    monkeypatch.setenv("FAKE_KEY", "sk-test-not-a-real-key-000000")
    with FakeLLM(answer) as llm:
        repo = repo_with(tmp_path, {
            "m": {"scope": ["hello.txt"], "tasks": [{"id": "edit", "tool": "llm", "prompt": "create hello.txt"}]},
            "ok": {"tasks": shell("echo ok > ok.txt")}},
            tools={"llm": {"base_url": llm.base_url, "model": "fake", "api_key_env": "FAKE_KEY"}})
        done = uet(repo, "run", "--workers", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert states(repo) == {"m": "failed", "ok": "integrated"}  # the run went on with the other
    reason = json.loads(uet(repo, "show", "m", "--json").stdout)["record"]["reasons"][0]
    assert reason and reason in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_task_that_stages_a_gitlink_ends_its_workstream_with_a_reason(tmp_path: Path) -> None:
    """A task that only stages a gitlink left its workstream `running` with no message
    while `run` exited 0; only `git uet report` showed `git commit failed: exit 1`."""
    link = "git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,sub"
    repo = repo_with(tmp_path, {"g": {"tasks": shell(link)}, "ok": {"tasks": shell("echo ok > ok.txt")}})
    done = uet(repo, "run", "--workers", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    final = states(repo)
    # What it staged is a submodule, which the patch policy refuses by default.
    assert final["ok"] == "integrated" and final["g"] == "quarantined"
    reason = json.loads(uet(repo, "show", "g", "--json").stdout)["record"]["reasons"][0]
    assert reason == "submodule: sub" and reason in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_task_that_stages_a_file_then_deletes_it_changed_nothing(tmp_path: Path) -> None:
    """Staged as added, gone from disk: the tree is HEAD's. It used to end `failed` with
    `git commit failed`; it is an empty workstream like any other."""
    repo = repo_with(tmp_path, {"e": {"tasks": shell("echo x > f.txt; git add f.txt; rm f.txt")}})
    done = uet(repo, "run")
    assert done.returncode == 1, done.stdout + done.stderr
    assert states(repo)["e"] == "quarantined"
    reason = json.loads(uet(repo, "show", "e", "--json").stdout)["record"]["reasons"][0]
    assert reason.startswith("empty:") and reason in done.stdout + done.stderr


@pytest.mark.slow
def test_old_quarantines_do_not_fail_a_run_with_nothing_to_do(tmp_path: Path) -> None:
    """A run with nothing runnable exited 1 and recorded a failed run because of
    workstreams quarantined by earlier runs: only what this run attempts counts."""
    repo = repo_with(tmp_path, {"bad": {"tasks": shell("exit 3")}, "good": {"tasks": shell("echo g > g.txt")}})
    assert uet(repo, "run").returncode == 1  # bad fails in this run: exit 1
    again = uet(repo, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing to run" in again.stdout and "1 failed" in again.stdout
    runs = Project.open(repo).ledger.state().all("run")
    assert sorted(r["state"] for r in runs) == ["completed", "failed"]


@pytest.mark.slow
def test_a_run_waits_for_workstreams_another_live_run_holds(tmp_path: Path) -> None:
    """A second run asked to run what a live run holds waits for it, rather than dropping
    it and exiting 0 while it is still running."""
    flag, pidfile = tmp_path / "flag", tmp_path / "pid"
    repo = repo_with(tmp_path, {"w": {"tasks": shell(
        f"echo $$ > {pidfile}; while [ ! -e {flag} ]; do sleep 0.1; done; echo w > w.txt")}})
    first = subprocess.Popen([sys.executable, "-m", "gitflow_uet", "run"], cwd=repo,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: pid_in(pidfile), what="the first run's task to start")
    second = subprocess.Popen([sys.executable, "-m", "gitflow_uet", "run", "--json"], cwd=repo,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert second.stdout is not None
    events = []
    for line in second.stdout:  # until it says it waits (or, wrongly, ends)
        events.append(json.loads(line))
        if events[-1]["event"] in ("ws-waiting", "ws-skipped", "run-end"):
            break
    assert events[-1]["event"] == "ws-waiting" and events[-1]["workstream"] == "w", events
    assert second.poll() is None
    flag.write_text("")
    out, err = second.communicate(timeout=120)
    assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    assert second.returncode == 0, err
    end = json.loads(out.splitlines()[-1])
    assert end["event"] == "run-end" and end["states"] == {"w": "integrated"}
    assert landed(repo) == ["w"]
