"""Ledger benchmark: append cost at 10 / 10,000 / 100,000 entries against the raw git
plumbing floor, and `git uet status --json` against a raw ls-tree | cat-file read.

    python bench/ledger_bench.py [--appends 200] [--sizes 10,10000,100000]

Prints the medians and the ratios the targets are stated in:
  append@100k / append@10 <= 1.3      append / raw floor <= 2      status / raw read <= 5

The sizes are measured in turn, one append each round, and `status` alternates with the raw
read: load that comes and goes on a shared machine then slows both sides of a ratio alike
instead of skewing it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gitflow_uet.git import Repo  # noqa: E402
from gitflow_uet.ledger.store import KIND_DIRS, REF, VERSION, Change, Ledger, fanout  # noqa: E402

ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost", "PYTHONPATH": str(ROOT)}


def git(cwd: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, input=input, capture_output=True, check=True).stdout


def seed(path: Path, entries: int) -> None:
    """A repository whose ledger already holds `entries` workstream records, built in one
    `git fast-import` (appending them one by one would take the benchmark hours)."""
    git(path.parent, "init", "-q", "-b", "main", str(path))
    git(path, "commit", "-q", "--allow-empty", "-m", "initial")
    lines = [b"commit refs/uet", b"committer bench <bench@localhost> 1700000000 +0000",
             b"data 5", b"seed", b"M 100644 inline VERSION", b"data 2", f"{VERSION}\n".encode()]
    for n in range(entries):
        ws_id = f"seed-{n:06d}"
        a, b = fanout(ws_id)
        record = json.dumps({"kind": "workstream", "id": ws_id, "state": "planned", "event": "plan",
                             "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}).encode()
        lines += [f"M 100644 inline {KIND_DIRS['workstream']}/{a}/{b}/{ws_id}".encode(),
                  f"data {len(record)}".encode(), record]
    git(path, "fast-import", "--quiet", input=b"\n".join(lines) + b"\n")
    git(path, "reflog", "expire", "--all")  # nothing to measure there


def time_appends(repos: dict[int, Path], count: int) -> dict[int, list[float]]:
    """Appends through one long-lived Ledger per repository."""
    ledgers = {size: Ledger(Repo.discover(path)) for size, path in repos.items()}
    for ledger in ledgers.values():
        ledger.append(Change("workstream", "warm-up", "planned", "plan"))
    samples: dict[int, list[float]] = {size: [] for size in repos}
    for n in range(count):
        for size, ledger in ledgers.items():
            started = time.perf_counter()
            ledger.append(Change("workstream", f"bench-{n}", "planned", "plan", {"title": "bench"}))
            samples[size].append(time.perf_counter() - started)
    return samples


def time_cold_appends(repos: dict[int, Path], count: int) -> dict[int, list[float]]:
    """Each append from a fresh Repo: what one short-lived process pays."""
    samples: dict[int, list[float]] = {size: [] for size in repos}
    for n in range(count):
        for size, path in repos.items():
            started = time.perf_counter()
            Ledger(Repo.discover(path)).append(Change("workstream", f"cold-{n}", "planned", "plan"))
            samples[size].append(time.perf_counter() - started)
    return samples


def time_raw_floor(repos: dict[int, Path], count: int) -> dict[int, list[float]]:
    """The same write with raw plumbing: hash-object, mktree, commit-tree, update-ref."""
    samples: dict[int, list[float]] = {size: [] for size in repos}
    ref = "refs/bench-raw"
    old: dict[int, str | None] = {size: None for size in repos}
    for n in range(count):
        for size, path in repos.items():
            started = time.perf_counter()
            record = json.dumps({"kind": "workstream", "id": f"raw-{n}", "state": "planned"}).encode()
            blob = git(path, "hash-object", "-w", "--stdin", input=record).decode().strip()
            tree = git(path, "mktree", input=f"100644 blob {blob}\traw-{n}\n".encode()).decode().strip()
            parent = old[size]
            parents = ["-p", parent] if parent else []
            commit = git(path, "commit-tree", tree, *parents, "-m", f"raw-{n}").decode().strip()
            git(path, "update-ref", ref, commit, parent or "0" * 40)
            old[size] = commit
            samples[size].append(time.perf_counter() - started)
    return samples


def time_status(path: Path, runs: int) -> tuple[list[float], list[float]]:
    ours, raw = [], []
    script = (f"git ls-tree -r --object-only {REF}:{KIND_DIRS['workstream']} "
              "| git cat-file --batch > /dev/null")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gitflow_uet", "status", "--json"], cwd=path, env=ENV,
                       stdout=subprocess.DEVNULL, check=True)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run(["sh", "-c", script], cwd=path, env=ENV, check=True)
        raw.append(time.perf_counter() - started)
    return ours, raw


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--sizes", default="10,10000,100000")
    parser.add_argument("--status-entries", type=int, default=10_000)
    parser.add_argument("--status-runs", type=int, default=9)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with tempfile.TemporaryDirectory(prefix="uet-ledger-bench-") as tmp:
        repos = {size: Path(tmp) / f"ledger-{size}" for size in sizes}
        for size, repo in repos.items():
            seed(repo, size)
        warm_runs = time_appends(repos, args.appends)
        cold_runs = time_cold_appends(repos, max(args.appends // 4, 10))
        floor_runs = time_raw_floor(repos, max(args.appends // 4, 10))
        rows = [(size, ms(warm_runs[size]), ms(cold_runs[size]), ms(floor_runs[size])) for size in sizes]
        print(f"{'entries':>9} {'append ms':>10} {'cold ms':>9} {'raw floor ms':>13} {'append/raw':>11} {'cold/raw':>9}")
        for size, warm, cold, floor in rows:
            print(f"{size:>9} {warm:>10.2f} {cold:>9.2f} {floor:>13.2f} {warm / floor:>11.2f} {cold / floor:>9.2f}")
        flat = rows[-1][1] / rows[0][1]
        print(f"append@{sizes[-1]} / append@{sizes[0]} = {flat:.2f}   (target <= 1.3)")
        print(f"append / raw floor (worst) = {max(r[1] / r[3] for r in rows):.2f}   (target <= 2)")

        repo = Path(tmp) / "status"
        seed(repo, args.status_entries)
        ours, raw = time_status(repo, args.status_runs)
        print(f"status --json on {args.status_entries} entries: {ms(ours):.1f} ms; raw ls-tree|cat-file: "
              f"{ms(raw):.1f} ms; ratio {ms(ours) / ms(raw):.2f}   (target <= 5)")


if __name__ == "__main__":
    main()
