"""Integrator benchmark: per-patch cost of `integrate()` against raw git doing the same.

    python bench/integrate_bench.py [--sizes 200,20000] [--patches 20] [--rounds 5]

Synthetic repositories of 200 and 20,000 files (built with `git fast-import`); each round
queues N workstreams that each change one distinct file, no gates. Timed:

  ours  one `integrate()` call for the whole queue (Project.open, lease, recovery,
        merge-tree, commit, the landing transaction with the ledger, note), divided by N;
  raw   per patch, the plumbing floor: `merge-tree --write-tree`, `commit-tree`,
        `update-ref` (CAS), `notes add`, each a subprocess.

The queue setup (branches, ledger records of submit) is not timed. By default the target
branch is not checked out anywhere; with `--checkout` it is (ours then also checks the
checkout for local edits and brings it forward; raw adds `read-tree -m -u` in a checkout
of its own target, what `git merge --ff-only` does there).
Targets: ours/raw <= 1.5 at each size; ours@20k / ours@200 <= 1.3.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost", "GIT_CONFIG_NOSYSTEM": "1"}
os.environ.update(ENV)

from gitflow_uet.integrate.integrator import integrate  # noqa: E402
from gitflow_uet.ledger.store import Blob, Change  # noqa: E402
from gitflow_uet.project import Project  # noqa: E402

CONFIG = "schema_version: 1\ngates: {}\nintegrate_gates: []\nhook_gates: {pre-commit: [], pre-push: []}\n"


def git(cwd: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=True).stdout


def path_of(i: int) -> str:
    return f"src/d{i // 100:03d}/f{i:05d}.txt"


def build(repo: Path, files: int) -> None:
    """`files` files in folders of 100, one commit on main; HEAD on an unborn branch so
    that main is not checked out anywhere."""
    git(repo.parent, "init", "-q", "-b", "bench-none", str(repo))
    lines = [b"commit refs/heads/main", b"committer bench <bench@localhost> 1700000000 +0000",
             b"data 7", b"initial"]
    for i in range(files):
        data = f"file {i}\n".encode()
        lines += [f"M 100644 inline {path_of(i)}".encode(), f"data {len(data)}".encode(), data]
    git(repo, "fast-import", "--quiet", input=b"\n".join(lines) + b"\n")
    (repo / ".uet").mkdir()
    (repo / ".uet" / "config.yaml").write_text(CONFIG)


def make_branches(repo: Path, refs: list[str], files: list[int], base: str) -> dict[str, str]:
    """One commit per ref on `base`, each changing its own file; ref -> commit."""
    lines: list[bytes] = []
    for n, (ref, i) in enumerate(zip(refs, files)):
        data = f"file {i}, changed by {ref}\n".encode()
        lines += [f"commit {ref}".encode(), f"mark :{n + 1}".encode(),
                  b"committer bench <bench@localhost> 1700000000 +0000",
                  f"data {len(ref)}".encode(), ref.encode(), f"from {base}".encode(),
                  f"M 100644 inline {path_of(i)}".encode(), f"data {len(data)}".encode(), data]
    git(repo, "fast-import", "--quiet", "--force", input=b"\n".join(lines) + b"\n")
    return {ref: git(repo, "rev-parse", ref).decode().strip() for ref in refs}


def queue(repo: Path, ids: list[str], files: list[int]) -> None:
    """What `git uet submit` leaves behind: branch uet/<id>, workstream submitted, patch queued."""
    base = git(repo, "rev-parse", "main").decode().strip()
    heads = make_branches(repo, [f"refs/heads/uet/{ws}" for ws in ids], files, base)
    project = Project.open(repo)
    for ws, i in zip(ids, files):
        head = heads[f"refs/heads/uet/{ws}"]
        diff = git(repo, "diff", base, head)
        patch_id = _ulid()
        project.ledger.append(
            Change("workstream", ws, "planned", "plan", {"title": f"Bench {ws}"}),
            Change("workstream", ws, "running", "start", {"branch": f"uet/{ws}", "base": base, "worktree": None}),
            Change("patch", patch_id, "created", "submit", {
                "workstream": ws, "sha256": hashlib.sha256(diff).hexdigest(), "diff": Blob(diff), "base": base,
                "head": head, "files": [path_of(i)], "lines": 2, "priority": 2, "depends_on": []}),
            Change("patch", patch_id, "validated", "submit"),
            Change("patch", patch_id, "queued", "submit"),
            Change("workstream", ws, "submitted", "submit", {"patch": patch_id}))


def _ulid() -> str:
    import ulid

    return str(ulid.ULID())


def time_ours(repo: Path, count: int) -> float:
    started = time.perf_counter()
    result = integrate(Project.open(repo))
    elapsed = time.perf_counter() - started
    assert len(result.landed) == count and not result.quarantined, result
    return elapsed / count


def time_raw(repo: Path, heads: dict[str, str], checkout: Path | None) -> float:
    target = "refs/heads/raw-main"
    tip = git(repo, "rev-parse", target).decode().strip()
    started = time.perf_counter()
    for ref, head in heads.items():
        tree = git(repo, "merge-tree", "--write-tree", tip, head).decode().split()[0]
        name = ref.rsplit("/", 1)[1]
        message = f"Bench {name} ({name})\n\nUet-Workstream: {name}\nUet-Patch: x\n"
        new = git(repo, "commit-tree", tree, "-p", tip, "-m", message).decode().strip()
        git(repo, "update-ref", "-m", "raw land", target, new, tip)
        if checkout is not None:
            git(checkout, "read-tree", "-m", "-u", tip, new)
        git(repo, "notes", "--ref=refs/notes/raw", "add", "-m", f"Uet-Workstream: {name}\n", new)
        tip = new
    return (time.perf_counter() - started) / len(heads)


def measure(tmp: Path, files: int, patches: int, rounds: int, with_checkout: bool) -> tuple[float, float]:
    tmp.mkdir(parents=True, exist_ok=True)
    repo = tmp / f"repo-{files}"
    build(repo, files)
    git(repo, "update-ref", "refs/heads/raw-main", "refs/heads/main")
    raw_checkout = None
    if with_checkout:
        git(repo, "checkout", "-q", "-f", "main")
        raw_checkout = tmp / f"raw-checkout-{files}"
        git(repo, "worktree", "add", "-q", str(raw_checkout), "raw-main")
    ours, raw = [], []
    for r in range(rounds + 1):  # round 0 warms caches and is not counted
        picks = [(r * patches + k) * 7 % files for k in range(patches)]
        ids = [f"r{r}-ws-{k:02d}" for k in range(patches)]
        queue(repo, ids, picks)
        base = git(repo, "rev-parse", "refs/heads/raw-main").decode().strip()
        heads = make_branches(repo, [f"refs/heads/raw/{ws}" for ws in ids], picks, base)
        # Alternate the order so neither side always runs on warmer caches.
        if r % 2:
            o, w = time_ours(repo, patches), time_raw(repo, heads, raw_checkout)
        else:
            w, o = time_raw(repo, heads, raw_checkout), time_ours(repo, patches)
        if r:
            ours.append(o)
            raw.append(w)
    return statistics.median(ours), statistics.median(raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,20000")
    parser.add_argument("--patches", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--checkout", action="store_true", help="the target is checked out (see above)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    home = tempfile.mkdtemp(prefix="uet-bench-home-")
    os.environ["HOME"] = home  # no user config (hooks, signing) in the measurement
    with tempfile.TemporaryDirectory(prefix="uet-integrate-bench-") as tmp:
        # A throwaway run first: imports, the page cache and the CPU's clock settle, so the
        # first size measured is not penalised.
        measure(Path(tmp) / "warm-up", 200, args.patches, 2, args.checkout)
        rows = [(size, *measure(Path(tmp), size, args.patches, args.rounds, args.checkout)) for size in sizes]
    print(f"target {'checked out' if args.checkout else 'not checked out'}; {args.patches} patches x {args.rounds} rounds")
    print(f"{'files':>7} {'ours ms/patch':>14} {'raw ms/patch':>13} {'ours/raw':>9}")
    for size, ours, raw in rows:
        print(f"{size:>7} {ours * 1000:>14.2f} {raw * 1000:>13.2f} {ours / raw:>9.2f}")
    worst = max(ours / raw for _, ours, raw in rows)
    print(f"ours/raw (worst) = {worst:.2f}   (target <= 1.5)")
    if len(rows) > 1:
        scale = rows[-1][1] / rows[0][1]
        print(f"ours@{sizes[-1]} / ours@{sizes[0]} = {scale:.2f}   (target <= 1.3)")


if __name__ == "__main__":
    main()
