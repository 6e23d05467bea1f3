"""`git gc --prune=now` beside the tool never takes an object a ref of ours is about to
hold: while a process of ours writes it holds `gc.pid` (git gc refuses to start, and a
running one is waited for); an object it reuses is freshened as git would."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gitflow_uet.git import Repo
from tests.helpers import git, make_repo
from tests.integration_helpers import make_project


def _gc(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "gc", "--prune=now", "--quiet"], cwd=repo, capture_output=True, text=True)


def _loose(repo: Path, sha: str) -> Path:
    return repo / ".git" / "objects" / sha[:2] / sha[2:]


def test_a_writing_repo_keeps_git_gc_out_until_it_closes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    with Repo.discover(repo) as door:
        blob = door.write_blob(b"not referenced yet\n")
        refused = _gc(repo)
        assert refused.returncode != 0 and "already running" in refused.stderr, refused.stderr
        assert _loose(repo, blob).is_file()
    assert _gc(repo).returncode == 0
    assert not _loose(repo, blob).exists()  # unreferenced: gc takes it once we are done
    assert not (repo / ".git" / "gc.pid").exists()


def test_two_holders_share_gc_pid_and_the_last_one_out_removes_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    script = ("import sys, time; from gitflow_uet.git import Repo\n"
              "r = Repo.discover(sys.argv[1]); r.write_blob(b'x'); print('held', flush=True)\n"
              "sys.stdin.readline(); r.close()\n")
    other = subprocess.Popen([sys.executable, "-c", script, str(repo)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        with Repo.discover(repo) as door:
            door.write_blob(b"mine\n")
        # We left first: the other process still holds it.
        assert "already running" in _gc(repo).stderr
        assert other.stdin is not None
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.wait(timeout=60) == 0
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert _gc(repo).returncode == 0


def test_a_holder_killed_with_sigkill_does_not_block_git_gc(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    script = ("import sys, time; from gitflow_uet.git import Repo\n"
              "r = Repo.discover(sys.argv[1]); r.write_blob(b'x'); print('held', flush=True); time.sleep(600)\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(repo)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    assert "already running" in _gc(repo).stderr
    holder.kill()
    holder.wait()
    assert _gc(repo).returncode == 0
    with Repo.discover(repo) as door:  # and the next writer takes the hold over
        door.write_blob(b"after\n")
        assert "already running" in _gc(repo).stderr


def test_a_write_waits_for_a_running_gc(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    # A gc in progress: gc.pid names a live process of this host that is not ours.
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        (repo / ".git" / "gc.pid").write_text(f"{sleeper.pid} {os.uname().nodename}")
        wrote = threading.Event()

        def write() -> None:
            with Repo.discover(repo) as door:
                door.write_blob(b"waits\n")
                wrote.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert not wrote.wait(1.0)  # still waiting for the "gc"
        sleeper.kill()
        sleeper.wait()
        writer.join(timeout=60)
        assert wrote.is_set()
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


def test_an_old_unreachable_object_written_again_is_freshened(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    with Repo.discover(repo) as door:
        blob = door.write_blob(b"written long ago\n")
    month_ago = time.time() - 30 * 86400
    os.utime(_loose(repo, blob), (month_ago, month_ago))

    with Repo.discover(repo) as door:
        assert door.write_blob(b"written long ago\n") == blob
    assert _loose(repo, blob).stat().st_mtime > time.time() - 3600
    # A grace-period prune (what a plain `git gc` does) keeps it now.
    git(repo, "prune", "--expire=2.weeks.ago")
    assert _loose(repo, blob).is_file()


@pytest.mark.slow
@pytest.mark.timeout(600)  # two whole runs beside a gc loop, on a loaded machine
def test_git_gc_prune_now_in_a_loop_beside_run_corrupts_nothing(tmp_path: Path) -> None:
    """The issue's scenario, twice (bench/gc_bench.py runs it 20 times)."""
    for round_ in range(2):
        repo = make_project(tmp_path / f"r{round_}", gates={"slow": f"{sys.executable} -c 'import time; time.sleep(0.3)'"})
        for n in range(4):
            (repo / "workstreams").mkdir(exist_ok=True)
            (repo / "workstreams" / f"ws-{n}.yaml").write_text(
                f"id: ws-{n}\ntitle: Write {n}\nscope: [out/ws-{n}.txt]\n"
                f"tasks:\n  - id: work\n    run: mkdir -p out && echo {n} > out/ws-{n}.txt\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "specs")
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                _gc(repo)

        gc_loop = threading.Thread(target=loop)
        gc_loop.start()
        try:
            done = subprocess.run([sys.executable, "-m", "gitflow_uet", "run", "--workers", "2"], cwd=repo,
                                  capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        finally:
            stop.set()
            gc_loop.join()
        assert done.returncode == 0, done.stdout + done.stderr
        assert _gc(repo).returncode == 0
        checked = subprocess.run(["git", "fsck", "--no-dangling", "--no-progress"], cwd=repo,
                                 capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        ours = subprocess.run([sys.executable, "-m", "gitflow_uet", "fsck"], cwd=repo, capture_output=True,
                              text=True)
        assert ours.returncode == 0, ours.stdout + ours.stderr
        assert git(repo, "rev-list", "--count", "main") == "7"  # initial, config, specs + 4
