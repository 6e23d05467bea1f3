"""Secrets benchmark: scanning a 2,000-line diff's added lines for credentials, against
`git diff` producing that diff.

    python bench/secrets_bench.py [--lines 2000] [--runs 5]

The diff adds the package's own source (code full of `secret`, `token`, `key =` and
hashes: the worst case for keyword rules), so every line reaches the rules' prefilter.
Printed: the scan in milliseconds (CPU time, best of runs; the rules compiled once per
process, as a long run does), `git diff` of the same change (wall, best of runs), and their
ratio. Budget: the scan well under 100 ms, i.e. a small fraction of a gate.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gitflow_uet.workstream import secrets  # noqa: E402

ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}


def git(cwd: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True).stdout


def source_lines(count: int) -> list[str]:
    lines: list[str] = []
    for path in sorted((ROOT / "gitflow_uet").rglob("*.py")):
        lines += path.read_text().splitlines()
    return (lines * (count // max(len(lines), 1) + 1))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    text = source_lines(args.lines)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        git(Path(tmp), "init", "-q", "-b", "main", str(repo))
        (repo / "a.py").write_text("")
        git(repo, "add", "a.py")
        git(repo, "commit", "-q", "-m", "base")
        (repo / "a.py").write_text("\n".join(text) + "\n")
        diff_wall = []
        for _ in range(args.runs):
            started = time.perf_counter()
            git(repo, "diff", "--no-ext-diff", "-U0")
            diff_wall.append(time.perf_counter() - started)
    numbered = list(enumerate(text, 1))
    secrets.scan_lines("a.py", numbered)  # compile the rules once, as a run does
    scan_cpu = []
    for _ in range(args.runs):
        started = time.process_time()
        found = secrets.scan_lines("a.py", numbered)
        scan_cpu.append(time.process_time() - started)
    scan, diff = min(scan_cpu), min(diff_wall)
    print(f"{args.lines} added lines, {len(found)} findings")
    print(f"scan: {scan * 1000:.1f} ms   git diff: {diff * 1000:.1f} ms   scan / git diff: {scan / diff:.2f}")


if __name__ == "__main__":
    main()
