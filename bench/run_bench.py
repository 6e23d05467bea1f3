"""Run benchmark: 12 workstreams of 2-second sleep tasks, 3 workers, no gates.

    python bench/run_bench.py [--workstreams 12] [--workers 3] [--seconds 2]

The ideal makespan is ceil(12 / 3) * 2 s = 8 s; the target is wall / ideal <= 1.15.
Also prints what raw git doing the bookkeeping alone costs, for scale.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
       "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True)


def build(repo: Path, count: int, seconds: float) -> None:
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    (repo / ".uet").mkdir()
    (repo / ".uet" / "config.yaml").write_text(
        "schema_version: 1\ngates: {}\nintegrate_gates: []\nhook_gates: {pre-commit: [], pre-push: []}\n")
    (repo / "workstreams").mkdir()
    for n in range(count):
        (repo / "workstreams" / f"ws-{n:02d}.yaml").write_text(
            f"id: ws-{n:02d}\ntitle: Sleep {n}\nscope: [out/ws-{n:02d}.txt]\n"
            f"tasks:\n  - id: work\n    run: sleep {seconds} && mkdir -p out && echo {n} > out/ws-{n:02d}.txt\n")
    (repo / ".gitignore").write_text("/.worktrees/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workstreams", type=int, default=12)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    ideal = math.ceil(args.workstreams / args.workers) * args.seconds
    with tempfile.TemporaryDirectory(prefix="uet-run-bench-") as tmp:
        repo = Path(tmp) / "repo"
        build(repo, args.workstreams, args.seconds)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "gitflow_uet", "run", "--workers", str(args.workers)],
                              cwd=repo, env=ENV, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout, done.stderr, sep="\n")
            raise SystemExit(f"run failed with exit {done.returncode}")
        landed = subprocess.run(["git", "rev-list", "--count", "main"], cwd=repo, env=ENV,
                                capture_output=True, text=True).stdout.strip()
    print(f"workstreams {args.workstreams}, workers {args.workers}, task {args.seconds}s, no gates")
    print(f"commits on main after the run: {landed} (1 initial + {args.workstreams})")
    print(f"wall {wall:.2f}s   ideal makespan {ideal:.2f}s   wall/ideal {wall / ideal:.3f}   (target <= 1.15)")


if __name__ == "__main__":
    main()
