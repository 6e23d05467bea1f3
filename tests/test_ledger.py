from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitflow_uet.errors import LedgerError, StaleLockError, TransitionError
from gitflow_uet.git import Repo, RefUpdate
from gitflow_uet.ledger.store import REF, Blob, Change, Ledger, item_path
from tests.helpers import aged, git, group_alive, make_repo, stale_lock_age, wait_until


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(Repo.discover(make_repo(tmp_path / "repo", uet=False)))


def test_append_records_state_in_tree_and_readable_log(ledger: Ledger) -> None:
    ledger.append(Change("workstream", "ws-1", "planned", "plan", {"title": "Greet"}))
    ledger.append(Change("workstream", "ws-1", "running", "start", {"log": Blob(b"started\n")}))
    record = ledger.state().get("workstream", "ws-1")
    assert record["state"] == "running" and record["title"] == "Greet"
    assert ledger.state().blob(record["log"]["blob"]) == b"started\n"
    root = ledger.repo.root
    subjects = git(root, "log", "--format=%s", REF).splitlines()
    assert subjects == ["ws-1: planned → running (start)", "ws-1: new → planned (plan)"]
    body = git(root, "log", "-1", "--format=%B", REF)
    entry = json.loads(next(ln for ln in body.splitlines() if ln.startswith("Uet-Entry:")).split(":", 1)[1])
    assert entry.pop("time").startswith("20")
    assert entry == {"kind": "workstream", "id": "ws-1", "from": "planned", "to": "running", "event": "start"}
    assert "/".join(item_path("workstream", "ws-1")) in git(root, "ls-tree", "-r", "--name-only", REF)
    # refs/uet keeps a reflog, so any ledger write can be undone with plain git
    assert len(git(root, "reflog", "show", REF).splitlines()) == 2
    assert git(root, "fsck", "--strict", "--no-dangling") == ""


def test_illegal_transition_is_refused_and_names_item_and_states(ledger: Ledger) -> None:
    ledger.append(Change("workstream", "ws-1", "planned", "plan"))
    tip = ledger.tip()
    with pytest.raises(TransitionError, match=r"workstream ws-1 is planned; it cannot become integrated"):
        ledger.append(Change("workstream", "ws-1", "integrated", "land"))
    with pytest.raises(TransitionError, match="does not exist yet"):
        ledger.append(Change("patch", "p-1", "queued", "queue"))
    assert ledger.tip() == tip


def test_batch_is_atomic_and_checked_in_order(ledger: Ledger) -> None:
    ledger.append(Change("workstream", "a", "planned", "plan"), Change("workstream", "b", "planned", "plan"))
    tip = ledger.tip()
    with pytest.raises(TransitionError):
        ledger.append(Change("workstream", "a", "running", "start"), Change("workstream", "b", "integrated", "x"))
    assert ledger.tip() == tip and ledger.state().state_of("workstream", "a") == "planned"
    entry = ledger.append(Change("workstream", "a", "running", "start"), Change("workstream", "a", "failed", "task"))
    assert entry.subject == "a: running → failed (task) (+1 more)"  # the batch leads with the outcome
    assert ledger.state().state_of("workstream", "a") == "failed"


def test_lost_race_rechecks_the_transition_on_the_new_tip(ledger: Ledger) -> None:
    ledger.append(Change("workstream", "ws-1", "planned", "plan"))
    calls = []

    def decide(state):  # noqa: ANN001
        calls.append(state.tip)
        if len(calls) == 1:  # someone else starts it between our read and our CAS
            Ledger(ledger.repo).append(Change("workstream", "ws-1", "running", "start"))
        return [Change("workstream", "ws-1", "running", "start", expect="planned")]

    with pytest.raises(TransitionError, match="is running, expected planned"):
        ledger.update(decide)
    assert len(calls) == 2 and calls[0] != calls[1]


def test_target_and_ledger_move_together_or_not_at_all(ledger: Ledger) -> None:
    repo = ledger.repo
    main = repo.read_ref("refs/heads/main")
    tree = repo.rev_parse("main^{tree}")
    new = repo.write_commit(tree, [main], "landed\n")
    ledger.append(Change("workstream", "ws-1", "planned", "plan"))
    before = ledger.tip()
    stale = repo.write_commit(tree, [main], "elsewhere\n")
    with pytest.raises(Exception, match="refs/heads/main moved"):
        ledger.append(Change("workstream", "ws-1", "running", "start"), refs=[RefUpdate("refs/heads/main", new, stale)])
    assert ledger.tip() == before and repo.read_ref("refs/heads/main") == main
    ledger.append(Change("workstream", "ws-1", "running", "start"), refs=[RefUpdate("refs/heads/main", new, main)])
    assert repo.read_ref("refs/heads/main") == new and ledger.tip() != before


WRITER = """
import sys
from gitflow_uet.git import Repo
from gitflow_uet.ledger.store import Change, Ledger
ledger = Ledger(Repo.discover(sys.argv[1]))
for i in range(int(sys.argv[3])):
    ledger.append(Change("workstream", f"{sys.argv[2]}-{i}", "planned", "plan"))
"""


@pytest.mark.slow
def test_concurrent_appends_lose_nothing(ledger: Ledger) -> None:
    root = ledger.repo.root
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), f"w{n}", "50"]) for n in range(8)]
    assert [p.wait(timeout=300) for p in procs] == [0] * 8
    assert len(ledger.state().all("workstream")) == 400
    chain = git(root, "rev-list", "--parents", REF).splitlines()
    assert len(chain) == 400
    assert all(len(line.split()) <= 2 for line in chain)  # linear: one parent each
    assert git(root, "fsck", "--strict", "--no-dangling") == ""


KILLER = """
import sys
from gitflow_uet.git import Repo
from gitflow_uet.ledger.store import Change, Ledger
ledger = Ledger(Repo.discover(sys.argv[1]))
i = 0
while True:
    ledger.append(Change("workstream", f"{sys.argv[2]}-{i}", "planned", "plan"))
    i += 1
"""


def test_killed_mid_append_leaves_old_or_new_tip(ledger: Ledger) -> None:
    root = ledger.repo.root
    ledger.append(Change("workstream", "first", "planned", "plan"))
    # At a named fault point: after the objects are written, before the compare-and-swap.
    env = {**os.environ, "UET_FAULT": "ledger.before-cas:3"}
    done = subprocess.run([sys.executable, "-c", KILLER, str(root), "k"], env=env, timeout=60)
    assert done.returncode == -9
    state = Ledger(Repo.discover(root)).state()
    assert [r["id"] for r in state.all("workstream")] == ["first", "k-0", "k-1"]
    # And at arbitrary moments: whatever was interrupted, the ledger reads back whole. The
    # kill comes once the writer has appended a few times (not after a sleep, which on a
    # loaded machine can end before it wrote anything), wherever it is in the next append.
    def appends() -> int:
        return len(git(root, "rev-list", REF).splitlines())

    for n, more in enumerate((1, 3, 6)):
        before = appends()
        proc = subprocess.Popen([sys.executable, "-c", KILLER, str(root), f"r{n}"], start_new_session=True)
        try:
            wait_until(lambda: appends() >= before + more, what=f"{more} appends")
        finally:
            proc.kill()
            proc.wait()
        # Its git children (an update-ref under way) finish what they were doing first.
        wait_until(lambda: not group_alive(proc.pid), what="the killed writer's git children to end")
        fresh = Ledger(Repo.discover(root))
        records = fresh.state().all("workstream")
        assert len(records) == len(git(root, "rev-list", REF).splitlines())
    assert git(root, "fsck", "--strict", "--no-dangling") == ""


def test_stale_lock_is_reported_with_path_and_age(ledger: Ledger) -> None:
    ledger.append(Change("workstream", "ws-1", "planned", "plan"))
    lock = ledger.repo.common_dir / "refs" / "uet.lock"
    lock.write_text("")
    aged(lock, 3600)
    with pytest.raises(StaleLockError) as raised:
        ledger.append(Change("workstream", "ws-1", "running", "start"))
    assert 3600 <= stale_lock_age(str(raised.value), lock) < 3600 + 600


def test_unknown_ledger_version_is_refused(ledger: Ledger) -> None:
    repo = ledger.repo
    ledger.append(Change("workstream", "ws-1", "planned", "plan"))
    git(repo.root, "read-tree", "--empty", "--index-output=" + str(repo.git_dir / "tmp-index"))
    env_index = {"GIT_INDEX_FILE": str(repo.git_dir / "tmp-index")}
    blob = repo.write_blob(b"99\n")
    repo.run("update-index", "--add", "--cacheinfo", f"100644,{blob},VERSION", env=env_index)
    tree = repo.run("write-tree", env=env_index).decode().strip()
    commit = repo.write_commit(tree, [ledger.tip()], "future\n")
    repo.update_ref(REF, commit, ledger.tip(), "test")
    with pytest.raises(LedgerError, match="ledger version 99"):
        ledger.state()


def test_fanout_keeps_every_tree_small(ledger: Ledger) -> None:
    for n in range(300):
        ledger.repo  # same repo object: the tree cache is exercised too
        ledger.append(Change("workstream", f"ws-{n}", "planned", "plan"))
    listing = git(ledger.repo.root, "ls-tree", "-r", "-t", REF).splitlines()
    per_dir: dict[str, int] = {}
    for line in listing:
        path = line.split("\t", 1)[1]
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        per_dir[parent] = per_dir.get(parent, 0) + 1
    assert max(per_dir.values()) <= 256
    assert len(ledger.state().all("workstream")) == 300


def test_a_blob_is_written_once_and_stays_reachable_when_referred_to_again(ledger: Ledger) -> None:
    log = Blob(b"output of a task\n")
    ledger.append(Change("workstream", "ws-1", "planned", "plan", {"tasks": {"a": {"log": log}}}))
    assert log.ref is not None
    first = log.ref
    # the same map appended again, now holding the reference: nothing is lost
    ledger.append(Change("workstream", "ws-1", "running", "start", {"tasks": {"a": {"log": log.ref}}}))
    record = ledger.state().get("workstream", "ws-1")
    assert record["tasks"]["a"]["log"] == first
    assert ledger.state().blob(first["blob"]) == b"output of a task\n"
    assert git(ledger.repo.root, "fsck", "--strict", "--no-dangling") == ""
