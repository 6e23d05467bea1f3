"""Builders for integrator tests: queued patches made the way `git uet submit` makes them,
without depending on workstreams.py (plain git for the branch, then the same ledger
entries submit would append)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import yaml
import ulid

from gitflow_uet.ledger.store import Blob, Change, Ledger
from gitflow_uet.project import Project
from gitflow_uet.spec.workstream import Priority
from tests.helpers import git, make_repo, write, write_spec

PY = sys.executable


def make_project(path: Path, files: dict[str, str] | None = None, *, gates: dict[str, str] | None = None,
                 integrate_gates: list[str] | None = None, **config: object) -> Path:
    """A repository on `main` with `git uet init` done and a config holding `gates`."""
    repo = make_repo(path, files or {"README.md": "hello\n"})
    doc = {"schema_version": 1, "gates": gates or {}, "integrate_gates": integrate_gates or sorted(gates or {}),
           "hook_gates": {"pre-commit": [], "pre-push": []}, **config}
    write(repo / ".uet" / "config.yaml", yaml.safe_dump(doc, sort_keys=False))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "uet config")
    return repo


def commit_on_main(repo: Path, files: dict[str, str], message: str = "change on main") -> str:
    """A commit on main made in the main checkout, as a user would."""
    for name, text in files.items():
        write(repo / name, text)
    git(repo, "add", "-A", *files)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def queue_patch(
    repo: Path,
    ws_id: str,
    files: dict[str, str | None],
    *,
    title: str | None = None,
    priority: str = "MEDIUM",
    depends_on: list[str] | tuple[str, ...] = (),
    gates: list[str] | None = None,
    base: str = "main",
    worktree: bool = False,
) -> str:
    """Spec committed on main, branch `uet/<id>` with one commit on `base` changing
    `files` (None deletes), and the ledger entries of start + submit; the patch id.
    With `worktree`, the branch is checked out at `.worktrees/<id>` as `start` leaves it."""
    title = title or f"Change {ws_id}"
    spec_fields: dict[str, object] = {"title": title, "priority": priority, "depends_on": list(depends_on)}
    if gates is not None:
        spec_fields["gates"] = gates
    write_spec(repo, ws_id, **spec_fields)
    git(repo, "add", "-A", "workstreams")
    git(repo, "commit", "-q", "-m", f"spec {ws_id}")
    start = git(repo, "rev-parse", base)
    git(repo, "branch", f"uet/{ws_id}", start)
    head = _commit_files(repo, start, files, f"{ws_id} work")
    git(repo, "update-ref", f"refs/heads/uet/{ws_id}", head, start)
    diff = subprocess.run(["git", "diff", "--no-ext-diff", "--binary", start, head], cwd=repo,
                          capture_output=True, check=True).stdout
    numstat = git(repo, "diff", "--numstat", start, head).splitlines()
    lines = sum(int(a) + int(d) for a, d, _ in (row.split("\t") for row in numstat))
    patch_id = str(ulid.ULID())
    with Project.open(repo) as project:
        ledger = project.ledger
        _append(ledger, [Change("workstream", ws_id, "planned", "plan", {"title": title})])
        where = None
        if worktree:
            where = f".worktrees/{ws_id}"
            git(repo, "worktree", "add", "-q", where, f"uet/{ws_id}")
        _append(ledger, [Change("workstream", ws_id, "running", "start",
                                {"branch": f"uet/{ws_id}", "base": start, "worktree": where, "attempt": 1})])
        _append(ledger, [
            Change("patch", patch_id, "created", "submit", {
                "workstream": ws_id, "sha256": hashlib.sha256(diff).hexdigest(), "diff": Blob(diff),
                "base": start, "head": head, "files": sorted(files), "lines": lines,
                "priority": Priority(priority).rank, "depends_on": list(depends_on)}),
            Change("patch", patch_id, "validated", "submit"),
            Change("patch", patch_id, "queued", "submit"),
            Change("workstream", ws_id, "submitted", "submit", {"patch": patch_id}),
        ])
    return patch_id


def _append(ledger: Ledger, changes: list[Change]) -> None:
    ledger.append(*changes)


def _commit_files(repo: Path, parent: str, files: dict[str, str | None], message: str) -> str:
    """A commit on `parent` with `files` changed, built in a scratch index (the main
    checkout is left alone)."""
    index = repo / ".git" / "scratch-index"
    env = {"GIT_INDEX_FILE": str(index)}
    _git_env(repo, env, "read-tree", parent)
    for name, text in files.items():
        if text is None:
            _git_env(repo, env, "update-index", "--force-remove", "--", name)
            continue
        sha = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=text.encode(),
                             capture_output=True, check=True).stdout.decode().strip()
        _git_env(repo, env, "update-index", "--add", "--cacheinfo", f"100644,{sha},{name}")
    tree = _git_env(repo, env, "write-tree")
    index.unlink()
    return _git_env(repo, env, "commit-tree", tree, "-p", parent, "-m", message)


def _git_env(repo: Path, env: dict[str, str], *args: str) -> str:
    import os

    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env={**os.environ, **env})
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def state_of(repo: Path, kind: str, item_id: str) -> str | None:
    with Project.open(repo) as project:
        return project.ledger.state().state_of(kind, item_id)


def record(repo: Path, kind: str, item_id: str) -> dict:
    with Project.open(repo) as project:
        found = project.ledger.state().get(kind, item_id)
    assert found is not None, f"no {kind} {item_id} in the ledger"
    return found


def trailer_count(repo: Path, key: str, value: str, rev: str = "main") -> int:
    """How many commits reachable from `rev` carry the trailer line `key: value`."""
    bodies = git(repo, "log", "--format=%B%x00", rev).split("\0")
    return sum(1 for body in bodies for line in body.splitlines() if line.strip() == f"{key}: {value}")
