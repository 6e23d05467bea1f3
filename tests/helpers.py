"""Repository builders, CLI drivers and process probes shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
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


def alive(pid: int) -> bool:
    """Whether `pid` still runs. A zombie counts as gone: it runs nothing, and in a container
    whose init does not reap, an orphan's zombie can linger after it was killed."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False
