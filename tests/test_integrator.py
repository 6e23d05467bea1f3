from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gitflow_uet.integrate.candidates import CheckoutDirty
from gitflow_uet.integrate.integrator import integrate
from gitflow_uet.integrate.lease import LEASE_REF, LeaseHeld, LeaseInfo, LeaseLost, acquire, read_lease
from gitflow_uet.project import Project
from tests.helpers import alive, git, uet, wait_until, write
from tests.integration_helpers import PY, make_project, queue_patch, record, state_of, trailer_count


def _events() -> tuple[list[tuple[str, dict]], object]:
    seen: list[tuple[str, dict]] = []
    return seen, lambda name, payload: seen.append((name, payload))


def test_one_patch_lands_as_one_commit_with_trailers_note_and_ledger(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", gates={"unit": "test -f greet.txt"})
    pid = queue_patch(repo, "ws-1", {"greet.txt": "hello\n"}, title="Add a greeting")
    old = git(repo, "rev-parse", "main")
    seen, sink = _events()

    result = integrate(Project.open(repo), on_event=sink)

    assert result.landed == ["ws-1"] and result.quarantined == [] and result.ok
    new = git(repo, "rev-parse", "main")
    assert git(repo, "rev-list", "--count", f"{old}..{new}") == "1"
    assert git(repo, "rev-parse", f"{new}^") == old and git(repo, "log", "-1", "--format=%P", new) == old
    assert git(repo, "log", "-1", "--format=%s", new) == "Add a greeting (ws-1)"
    body = git(repo, "log", "-1", "--format=%B", new)
    assert "Uet-Workstream: ws-1" in body.splitlines() and f"Uet-Patch: {pid}" in body.splitlines()
    assert git(repo, "show", f"{new}:greet.txt") == "hello"
    note = git(repo, "notes", "--ref=uet", "show", new)
    patch = record(repo, "patch", pid)
    assert f"Uet-Patch: {pid}" in note and f"Uet-Patch-Sha256: {patch['sha256']}" in note
    assert "Uet-Gates: unit=ok" in note and "Uet-Workstream: ws-1" in note
    assert patch["state"] == "committed" and patch["commit"] == new and patch["target_tip"] == old
    assert patch["gates"]["unit"]["ok"] is True and patch["gates"]["unit"]["exit"] == 0
    ws = record(repo, "workstream", "ws-1")
    assert ws["state"] == "integrated" and ws["commit"] == new and ws["branch"] is None
    assert git(repo, "branch", "--list", "uet/ws-1") == ""
    # the user's checkout on main followed, like `git merge --ff-only`
    assert (repo / "greet.txt").read_text() == "hello\n" and git(repo, "status", "--porcelain") == ""
    names = [name for name, _ in seen]
    assert names == ["candidate", "gate-started", "gate-finished", "landed"]
    # the lease is gone once the run ends
    assert git(repo, "for-each-ref", LEASE_REF) == ""


def test_conflicting_workstreams_first_lands_second_apply_failed_and_quarantined(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", {"shared.txt": "one\ntwo\nthree\n"})
    queue_patch(repo, "ws-a", {"shared.txt": "one\nTWO (a)\nthree\n"})
    pid_b = queue_patch(repo, "ws-b", {"shared.txt": "one\nTWO (b)\nthree\n", "other.txt": "b\n"})
    b_tip = git(repo, "rev-parse", "uet/ws-b")

    result = integrate(Project.open(repo))

    assert result.landed == ["ws-a"] and result.quarantined == ["ws-b"] and not result.ok
    assert git(repo, "show", "main:shared.txt") == "one\nTWO (a)\nthree"
    patch = record(repo, "patch", pid_b)
    assert patch["state"] == "apply_failed" and patch["conflicts"] == ["shared.txt"]
    assert any("shared.txt" in r for r in patch["reasons"])
    assert state_of(repo, "workstream", "ws-b") == "quarantined"
    assert git(repo, "rev-parse", "uet/quarantine/ws-b") == b_tip
    assert git(repo, "branch", "--list", "uet/ws-b") == ""
    assert trailer_count(repo, "Uet-Workstream", "ws-b") == 0


def test_red_gate_leaves_target_untouched_and_output_is_readable(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", gates={"unit": "echo 'assertion failed: 2 != 3'; exit 3"})
    pid = queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    old = git(repo, "rev-parse", "main")

    result = integrate(Project.open(repo))

    assert result.quarantined == ["ws-1"] and result.landed == []
    assert git(repo, "rev-parse", "main") == old
    patch = record(repo, "patch", pid)
    assert patch["state"] == "quarantined" and patch["reasons"] == ["gate unit failed (exit 3)"]
    assert patch["gates"]["unit"]["ok"] is False and patch["gates"]["unit"]["exit"] == 3
    shown = uet(repo, "show", "ws-1")
    assert shown.returncode == 0, shown.stderr
    assert "assertion failed: 2 != 3" in shown.stdout
    cli = uet(repo, "integrate")
    assert cli.returncode == 0 and "nothing queued" in cli.stdout


def test_cli_exit_code_is_one_when_a_patch_is_quarantined(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", gates={"unit": "exit 1"})
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    done = uet(repo, "integrate", "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["quarantined"] == ["ws-1"] and doc["landed"] == []
    assert "gate unit" in done.stderr


def test_hanging_gate_is_killed_at_its_timeout(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", gates={"unit": "sleep 300"}, gate_timeout=2)
    pid = queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    started = time.monotonic()
    result = integrate(Project.open(repo))
    assert time.monotonic() - started < 90  # not the 300 s of the gate's sleep
    assert result.quarantined == ["ws-1"]
    patch = record(repo, "patch", pid)
    assert patch["gates"]["unit"]["timed_out"] is True
    assert patch["reasons"] == ["gate unit failed (timed out after 2s)"]


def test_gate_printing_without_end_is_capped(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", gates={"unit": "yes spam"}, gate_timeout=2, max_output_bytes=4096)
    pid = queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    integrate(Project.open(repo))
    gate = record(repo, "patch", pid)["gates"]["unit"]
    assert gate["truncated"] is True
    assert 4096 <= gate["log"]["size"] < 4096 + 200
    log = Project.open(repo).ledger.state().blob(gate["log"]["blob"])
    assert log.startswith(b"spam\nspam\n") and b"bytes of output dropped" in log


def test_order_is_dependencies_then_priority_then_age(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    queue_patch(repo, "low-old", {"1.txt": "1\n"}, priority="LOW")
    queue_patch(repo, "med-old", {"2.txt": "2\n"}, priority="MEDIUM")
    queue_patch(repo, "crit-dep", {"3.txt": "3\n"}, priority="CRITICAL", depends_on=["low-late"])
    queue_patch(repo, "med-new", {"4.txt": "4\n"}, priority="MEDIUM")
    queue_patch(repo, "low-late", {"5.txt": "5\n"}, priority="LOW")
    queue_patch(repo, "waits", {"6.txt": "6\n"}, priority="CRITICAL", depends_on=["never"])
    seen, sink = _events()

    result = integrate(Project.open(repo), on_event=sink)

    assert result.landed == ["med-old", "med-new", "low-old", "low-late", "crit-dep"]
    subjects = git(repo, "log", "--format=%s", "-5", "main").splitlines()
    assert subjects == [f"Change {w} ({w})" for w in reversed(result.landed)]
    assert result.skipped == ["waits"] and "never" in result.reasons["waits"][0]
    assert state_of(repo, "workstream", "waits") == "submitted"
    assert ("skipped", {"workstream": "waits", "reason": result.reasons["waits"][0]}) in seen


def test_only_restricts_and_unknown_id_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    queue_patch(repo, "ws-a", {"a.txt": "a\n"})
    queue_patch(repo, "ws-b", {"b.txt": "b\n"})
    result = integrate(Project.open(repo), ["ws-b"])
    assert result.landed == ["ws-b"] and state_of(repo, "workstream", "ws-a") == "submitted"
    bad = uet(repo, "integrate", "nope")
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr


def test_target_moved_meanwhile_is_rebuilt_and_regated(tmp_path: Path) -> None:
    marker = tmp_path / "pushed-once"
    # The first gate run pushes a commit to main, as another user would while we gate.
    push = (f"if [ ! -e {marker} ]; then touch {marker} && "
            f"git -C {tmp_path / 'r'} -c user.name=x -c user.email=x@y commit -q --allow-empty -m 'pushed meanwhile'; fi")
    repo = make_project(tmp_path / "r", gates={"unit": push})
    pid = queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    seen, sink = _events()

    result = integrate(Project.open(repo), on_event=sink)

    assert result.landed == ["ws-1"]
    names = [n for n, _ in seen]
    assert names.count("candidate") == 2 and names.count("gate-finished") == 2 and "rebuild" in names
    assert git(repo, "log", "-2", "--format=%s", "main").splitlines() == ["Change ws-1 (ws-1)", "pushed meanwhile"]
    patch = record(repo, "patch", pid)
    pushed = git(repo, "rev-parse", "main^")
    assert patch["target_tip"] == pushed and patch["commit"] == git(repo, "rev-parse", "main")
    history = [c["to"] for e in Project.open(repo).ledger.log(pid) for c in e.changes]
    assert history[:5] == ["committed", "verified", "applied", "queued", "verified"]
    assert trailer_count(repo, "Uet-Workstream", "ws-1") == 1


def test_checkout_is_brought_forward_and_unrelated_local_edits_are_kept(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", {"README.md": "hello\n", "notes.txt": "mine\n"})
    queue_patch(repo, "ws-1", {"README.md": "hello world\n"})
    write(repo / "notes.txt", "my uncommitted edit\n")
    write(repo / "scratch.txt", "untracked\n")

    result = integrate(Project.open(repo))

    assert result.landed == ["ws-1"]
    assert (repo / "README.md").read_text() == "hello world\n"
    assert (repo / "notes.txt").read_text() == "my uncommitted edit\n"
    assert (repo / "scratch.txt").read_text() == "untracked\n"
    status = {line.strip() for line in git(repo, "status", "--porcelain").splitlines()}
    assert status == {"M notes.txt", "?? scratch.txt"}


def test_dirty_checkout_in_a_touched_path_is_refused_and_nothing_moves(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", {"README.md": "hello\n"}, gates={"unit": "true"})
    pid = queue_patch(repo, "ws-1", {"README.md": "hello world\n"})
    write(repo / "README.md", "my own edit\n")
    old, ledger_tip = git(repo, "rev-parse", "main"), git(repo, "rev-parse", "refs/uet")

    with pytest.raises(CheckoutDirty, match="README.md"):
        integrate(Project.open(repo))

    assert git(repo, "rev-parse", "main") == old and git(repo, "rev-parse", "refs/uet") == ledger_tip
    assert state_of(repo, "patch", pid) == "queued"
    assert (repo / "README.md").read_text() == "my own edit\n"
    cli = uet(repo, "integrate")
    assert cli.returncode == 2 and "README.md" in cli.stderr and "nothing was moved" in cli.stderr


def test_second_integrator_refuses_while_lease_is_held(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    old = git(repo, "rev-parse", "main")
    project = Project.open(repo)
    with acquire(project.repo, ttl=60):
        done = uet(repo, "integrate")
        assert done.returncode == 1
        assert "lease" in done.stderr and "pid" in done.stderr and "Traceback" not in done.stderr
        with pytest.raises(LeaseHeld):
            integrate(Project.open(repo))
        assert git(repo, "rev-parse", "main") == old
    assert integrate(Project.open(repo)).landed == ["ws-1"]


def test_expired_lease_is_taken_over_and_wait_polls(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    project = Project.open(repo)
    stale = LeaseInfo("someone", 1, "elsewhere.example", time.time() - 120, time.time() - 60)
    project.repo.update_ref(LEASE_REF, project.repo.write_blob(stale.to_bytes()), None, "test: stale lease")

    assert integrate(project).landed == ["ws-1"]
    assert read_lease(project.repo) is None

    # A live lease about to expire: --wait outlasts it, taking over only once it expired
    # (a condition, not a clock reading: a loaded machine may take the whole ttl to get here).
    short = acquire(project.repo, ttl=3.0)
    lease = acquire(project.repo, wait=60)
    assert lease.sha != short.sha and lease.info.acquired >= short.info.expires
    lease.release()
    short.release()  # no longer ours: leaves nothing behind and raises nothing
    assert read_lease(project.repo) is None


def test_lease_of_a_dead_process_on_this_host_is_taken_over(tmp_path: Path) -> None:
    import socket
    import subprocess

    repo = make_project(tmp_path / "r")
    project = Project.open(repo)
    gone = subprocess.run([PY, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = LeaseInfo("dead", int(gone.stdout), socket.gethostname(), time.time(), time.time() + 3600)
    project.repo.update_ref(LEASE_REF, project.repo.write_blob(dead.to_bytes()), None, "test: dead holder")
    with acquire(project.repo) as lease:
        assert lease.info.pid != dead.pid


def test_integration_worktree_is_reused_and_gates_see_the_candidate(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", gates={"unit": 'test "$(git rev-parse HEAD)" = "$UET_CANDIDATE"'})
    queue_patch(repo, "ws-a", {"a.txt": "a\n"})
    queue_patch(repo, "ws-b", {"b.txt": "b\n"})
    result = integrate(Project.open(repo))
    assert result.landed == ["ws-a", "ws-b"]
    worktrees = git(repo, "worktree", "list", "--porcelain")
    assert worktrees.count("worktree ") == 2 and ".worktrees/.integrate" in worktrees


def test_a_lease_taken_over_stops_its_old_holder(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    project = Project.open(repo)
    mine = acquire(project.repo, ttl=60)
    theirs = LeaseInfo("other", 1, "elsewhere", time.time(), time.time() + 60)
    project.repo.update_ref(LEASE_REF, project.repo.write_blob(theirs.to_bytes()), mine.sha, "test: takeover")
    with pytest.raises(LeaseLost):
        mine.hold()
    with pytest.raises(LeaseLost):
        mine.renew()
    mine.release()  # not ours any more: left alone
    current = read_lease(project.repo)
    assert current is not None and current[1] is not None and current[1].holder == "other"


def test_workstream_worktree_is_removed_once_landed(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    queue_patch(repo, "ws-1", {"a.txt": "a\n"}, worktree=True)
    assert (repo / ".worktrees" / "ws-1").is_dir()
    assert integrate(Project.open(repo)).landed == ["ws-1"]
    assert not (repo / ".worktrees" / "ws-1").exists()
    assert ".worktrees/ws-1" not in git(repo, "worktree", "list")
    assert record(repo, "workstream", "ws-1")["worktree"] is None


def test_untracked_ignored_or_blocking_files_where_the_patch_writes_are_refused(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", {"README.md": "hello\n", ".gitignore": "*.log\n"})
    queue_patch(repo, "ws-1", {"out.log": "from the patch\n", "docs/guide.md": "guide\n"})
    old = git(repo, "rev-parse", "main")
    write(repo / "out.log", "my ignored file\n")
    write(repo / "docs", "a file where the patch needs a folder\n")
    with pytest.raises(CheckoutDirty) as refused:
        integrate(Project.open(repo))
    assert "out.log" in str(refused.value) and "docs" in str(refused.value)
    assert git(repo, "rev-parse", "main") == old
    (repo / "out.log").unlink()
    (repo / "docs").unlink()
    assert integrate(Project.open(repo)).landed == ["ws-1"]
    assert (repo / "docs" / "guide.md").read_text() == "guide\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_integrate_interrupted_says_so_and_kills_its_gate(tmp_path: Path, sig: int) -> None:
    """`integrate` killed by SIGTERM exited -15 without a word and left its gate running in
    .worktrees/.integrate, where the next integrate gates its candidate."""
    pids = tmp_path / "pids"
    repo = make_project(tmp_path / "r", gates={"unit": f"sleep 300 & echo $$ $! > {pids}; wait"})
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    proc = subprocess.Popen([PY, "-m", "gitflow_uet", "integrate"], cwd=repo, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: pids.exists() and pids.read_text().endswith("\n"), what="the gate to start")
        proc.send_signal(sig)
        stderr = proc.communicate(timeout=90)[1]
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 128 + sig, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    for pid in map(int, pids.read_text().split()):
        assert not alive(pid), f"gate process {pid} outlived the interrupted integrate"
    assert state_of(repo, "workstream", "ws-1") == "submitted"
