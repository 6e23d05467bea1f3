"""Start benchmark: `git uet start` of a workstream with a scope, in a cone-sparse worktree,
on a 20,000-file repository, against a plain `git worktree add` of the same repository.

    python bench/start_bench.py [--files 20000] [--runs 5]

Target: ours / plain <= 0.05. Printed twice: the start itself (in this process, a fresh
Project each time, so config and spec are read and validated again; only the imports are
warm), and the whole `git uet start` command, which adds the interpreter's start-up and
imports (typer, pydantic) to the same work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
       "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
PER_DIR = 100


def git(cwd: Path, *args: str, input: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, input=input, check=True, capture_output=True)


def build(repo: Path, files: int, runs: int) -> None:
    """`files` files in folders of 100, the config and one spec per run, in one fast-import."""
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    config = (b"schema_version: 1\nsparse_worktrees: true\ngates: {}\nintegrate_gates: []\n"
              b"hook_gates: {pre-commit: [], pre-push: []}\n")
    lines = [b"commit refs/heads/main", b"committer bench <bench@localhost> 1700000000 +0000",
             b"data 5", b"bench", b"M 100644 inline .uet/config.yaml", f"data {len(config)}".encode(), config]
    for n in range(runs):
        spec = f"id: ws-{n}\ntitle: Start {n}\nscope: [pkg{n:04d}/**]\ntasks: []\n".encode()
        lines += [f"M 100644 inline workstreams/ws-{n}.yaml".encode(), f"data {len(spec)}".encode(), spec]
    for i in range(files):
        body = f"file {i}\n".encode()
        lines += [f"M 100644 inline pkg{i // PER_DIR:04d}/f{i:05d}.txt".encode(), f"data {len(body)}".encode(), body]
    git(repo, "fast-import", "--quiet", input=b"\n".join(lines) + b"\n")
    git(repo, "checkout", "-q", "-f", "main")
    (repo / ".git" / "info" / "exclude").write_text("/.worktrees/\n/plain-*/\n")


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - started


def in_process(repo: Path, ws_id: str) -> float:
    sys.path.insert(0, str(ROOT))
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        os.environ[key] = ENV[key]
    from gitflow_uet.workstream import lifecycle as workstreams
    from gitflow_uet.project import Project

    started = time.perf_counter()
    workstreams.start(Project.open(repo), ws_id)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="uet-start-bench-") as tmp:
        repo = Path(tmp) / "repo"
        build(repo, args.files, 2 * args.runs)
        half = args.runs
        ours = [in_process(repo, f"ws-{n}") for n in range(half)]
        command = [timed([sys.executable, "-m", "gitflow_uet", "start", f"ws-{n}"], repo)
                   for n in range(half, 2 * half)]
        held = sum(1 for _ in (repo / ".worktrees" / "ws-0").rglob("*.txt"))
        plain = [timed(["git", "worktree", "add", "-q", "-b", f"plain-{n}", f"plain-{n}", "main"], repo)
                 for n in range(args.runs)]
    o, c, p = (statistics.median(x) * 1000 for x in (ours, command, plain))
    print(f"repository: {args.files} files; a sparse start held {held} of them")
    print(f"git worktree add (full): {p:.1f} ms")
    print(f"start, sparse scope (in process): {o:.1f} ms   ratio {o / p:.3f}   (target <= 0.05)")
    print(f"git uet start, whole command:     {c:.1f} ms   ratio {c / p:.3f}   "
          "(interpreter start-up and imports included)")


if __name__ == "__main__":
    main()
