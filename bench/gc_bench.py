"""`git gc --prune=now` in a loop beside `git uet run`: does the repository survive?

    python bench/gc_bench.py [--rounds 20] [--workstreams 6] [--workers 3]

Each round builds a project whose workstreams each write a file, with an integrate gate
that sleeps (so candidates wait, unreferenced, while gc runs), starts a loop of
`git gc --prune=now` and runs `git uet run`. A round is corrupt when the run exits 3 or
`git fsck` / `git uet fsck` find anything missing. Prints the rounds, the corrupt ones and
how many gc runs actually ran (`gc is already running` refusals are counted apart).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(os.environ.get("UET_BENCH_ROOT") or Path(__file__).resolve().parents[1])
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
       "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True)


def build(repo: Path, count: int) -> None:
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    (repo / ".uet").mkdir()
    (repo / ".uet" / "config.yaml").write_text(
        "schema_version: 1\ngates: {slow: 'sleep 0.3'}\nintegrate_gates: [slow]\n"
        "hook_gates: {pre-commit: [], pre-push: []}\n")
    (repo / "workstreams").mkdir()
    for n in range(count):
        (repo / "workstreams" / f"ws-{n:02d}.yaml").write_text(
            f"id: ws-{n:02d}\ntitle: Write {n}\nscope: [out/ws-{n:02d}.txt]\n"
            f"tasks:\n  - id: work\n    run: mkdir -p out && echo {n}-$$ > out/ws-{n:02d}.txt\n")
    (repo / ".gitignore").write_text("/.worktrees/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "bench")


class GcLoop(threading.Thread):
    """`git gc --prune=now` back to back until stopped."""

    def __init__(self, repo: Path):
        super().__init__(daemon=True)
        self.repo, self.stop, self.ran, self.refused = repo, threading.Event(), 0, 0

    def run(self) -> None:
        while not self.stop.is_set():
            done = git(self.repo, "gc", "--prune=now", "--quiet")
            if done.returncode == 0:
                self.ran += 1
            elif "already running" in done.stderr:
                self.refused += 1


def one_round(repo: Path, count: int, workers: int) -> tuple[list[str], int, int]:
    """(problems, gc runs, gc refusals) of one run beside a gc loop."""
    build(repo, count)
    loop = GcLoop(repo)
    loop.start()
    try:
        done = subprocess.run([sys.executable, "-m", "gitflow_uet", "run", "--workers", str(workers)],
                              cwd=repo, env=ENV, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    finally:
        loop.stop.set()
        loop.join()
    problems = []
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:
        problems.append(f"run exited {done.returncode}: {done.stderr.strip()[-400:]}")
    gc_done = git(repo, "gc", "--prune=now", "--quiet")  # and one more after the run
    if gc_done.returncode != 0:
        problems.append(f"git gc after the run: {gc_done.stderr.strip()}")
    checked = git(repo, "fsck", "--no-dangling", "--no-progress")
    if checked.returncode != 0 or "missing" in checked.stdout + checked.stderr:
        problems.append(f"git fsck: {(checked.stdout + checked.stderr).strip()[:400]}")
    ours = subprocess.run([sys.executable, "-m", "gitflow_uet", "fsck"], cwd=repo, env=ENV,
                          capture_output=True, text=True)
    if ours.returncode != 0:
        problems.append(f"git uet fsck: {(ours.stdout + ours.stderr).strip()[:400]}")
    landed = git(repo, "rev-list", "--count", "main").stdout.strip()
    if landed != str(count + 1):
        status = subprocess.run([sys.executable, "-m", "gitflow_uet", "status"], cwd=repo, env=ENV,
                                capture_output=True, text=True).stdout
        problems.append(f"main holds {landed} commits, expected {count + 1}: run said "
                        f"{(done.stdout + done.stderr).strip()[-600:]!r}; status {status.strip()!r}")
    return problems, loop.ran, loop.refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workstreams", type=int, default=6)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    corrupt, ran, refused = 0, 0, 0
    for n in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="uet-gc-bench-") as tmp:
            problems, r, f = one_round(Path(tmp) / "repo", args.workstreams, args.workers)
        ran, refused = ran + r, refused + f
        corrupt += bool(problems)
        print(f"round {n}: {'corrupt: ' + '; '.join(problems) if problems else 'ok'} (gc ran {r}, refused {f})",
              flush=True)
    print(f"{args.rounds} rounds, {corrupt} corrupt; git gc --prune=now ran {ran} times beside the runs "
          f"and was refused {refused} times while a run held gc.pid")
    raise SystemExit(1 if corrupt else 0)


if __name__ == "__main__":
    main()
