"""Issue 7.6: worktree administration is serialised, so concurrent starts (separate
processes) and a run's workers adding and removing worktrees never race inside git."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import git, make_repo, uet, write, write_spec

# Concurrency stress (many processes at once): the second step of the README's test command.
pytestmark = pytest.mark.slow


def _repo(tmp_path: Path, specs: dict[str, dict], **config: object) -> Path:
    repo = make_repo(tmp_path / "repo")
    write(repo / ".uet" / "config.yaml", yaml.safe_dump({
        "schema_version": 1, "gates": {}, "integrate_gates": [],
        "hook_gates": {"pre-commit": [], "pre-push": []}, **config}))
    for ws_id, fields in specs.items():
        write_spec(repo, ws_id, **fields)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "specs")
    return repo


def test_ten_concurrent_starts_from_separate_processes_all_succeed(tmp_path: Path) -> None:
    ids = [f"c{i}" for i in range(10)]
    repo = _repo(tmp_path, {ws_id: {} for ws_id in ids})
    procs = [subprocess.Popen([sys.executable, "-m", "gitflow_uet", "start", ws_id], cwd=repo,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
             for ws_id in ids]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0] * 10, [err for _, _, err in results]
    for ws_id, (_, out, _) in zip(ids, results):
        assert out.strip() == str(repo / ".worktrees" / ws_id)
        assert (repo / ".worktrees" / ws_id / "README.md").exists()
    doc = json.loads(uet(repo, "status", "--json").stdout)
    assert {w["id"]: w["state"] for w in doc["workstreams"]} == {ws_id: "running" for ws_id in ids}
    listed = git(repo, "worktree", "list", "--porcelain")
    assert all(f"branch refs/heads/uet/{ws_id}" in listed for ws_id in ids)


def test_a_run_of_quickly_quarantined_workstreams_leaves_none_planned(tmp_path: Path) -> None:
    # Each task writes outside its scope: refused at submit, quarantined, its worktree removed
    # while the other workers add theirs.
    ids = [f"q{i:02d}" for i in range(24)]
    repo = _repo(tmp_path, {ws_id: {"scope": ["src/**"], "tasks": [{"id": "edit", "run": f"echo x > {ws_id}.txt"}]}
                            for ws_id in ids})
    done = uet(repo, "run", "--workers", "3", timeout=600)
    doc = json.loads(uet(repo, "status", "--json").stdout)
    by_state = {w["id"]: w["state"] for w in doc["workstreams"]}
    assert by_state == {ws_id: "quarantined" for ws_id in ids}, (done.stdout[-2000:], done.stderr[-2000:])
    assert "worktree" not in done.stderr


STRESS = """
import sys
from gitflow_uet.git import Repo
from gitflow_uet.git.worktrees import add_branch_worktree, list_worktrees, remove_worktree
repo = Repo.discover(sys.argv[1])
for i in range(int(sys.argv[3])):
    path = repo.root / ".worktrees" / f"{sys.argv[2]}-{i}"
    add_branch_worktree(repo, path, f"s/{sys.argv[2]}-{i}", "HEAD")
    list_worktrees(repo)
    remove_worktree(repo, path)
"""


def test_processes_adding_and_removing_worktrees_at_once_never_break_git(tmp_path: Path) -> None:
    # Without the lock, git's own `worktree add` reads another's half-made admin folder:
    # `fatal: failed to read .git/worktrees/b-7/commondir` within a few dozen rounds.
    repo = make_repo(tmp_path / "repo", uet=False)
    procs = [subprocess.Popen([sys.executable, "-c", STRESS, str(repo), name, "15"], cwd=repo,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
             for name in "abcd"]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    assert git(repo, "worktree", "list").count("\n") == 0  # only the main worktree is left
