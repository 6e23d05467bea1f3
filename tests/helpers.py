"""Repository builders and CLI drivers shared by the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None, *, uet: bool = True) -> Path:
    """A repository on `main` with one commit holding `files` (and `git uet init` done)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "hello\n"}).items():
        write(path / name, text)
    if uet:
        from gitflow_uet.bootstrap import initialize
        from gitflow_uet.project import Project

        initialize(Project.open(path))
        write(path / ".uet" / "config.yaml", "schema_version: 1\ngates: {}\nintegrate_gates: []\n"
              "hook_gates: {pre-commit: [], pre-push: []}\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_spec(repo: Path, ws_id: str, **fields: object) -> Path:
    doc = {"id": ws_id, "title": fields.pop("title", f"Workstream {ws_id}"), **fields}
    return write(repo / "workstreams" / f"{ws_id}.yaml", yaml.safe_dump(doc, sort_keys=False))


def uet(cwd: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess: exit codes and stderr exactly as a user sees them."""
    import os

    return subprocess.run([sys.executable, "-m", "gitflow_uet", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout,
                          stdin=subprocess.DEVNULL)
