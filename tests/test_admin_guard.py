"""Issue 8.10: a task that changes what git runs or obeys (shared config, hooks,
info/attributes) through its worktree's gitdir gets its workstream quarantined, with the
file named."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from gitflow_uet.project import Project
from tests.helpers import git, make_repo, uet, write, write_spec


def _repo(tmp_path: Path, specs: dict[str, dict]) -> Path:
    repo = make_repo(tmp_path / "repo")
    write(repo / ".uet" / "config.yaml", yaml.safe_dump({
        "schema_version": 1, "gates": {}, "integrate_gates": [], "hook_gates": {"pre-commit": [], "pre-push": []}}))
    for ws_id, fields in specs.items():
        write_spec(repo, ws_id, **fields)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "specs")
    return repo


def _ws(repo: Path, ws_id: str) -> dict:
    return Project.open(repo).ledger.state().get("workstream", ws_id) or {}


# Written through the worktree's own gitdir, as a task that writes anything a shell can.
HOSTILE = ('common=$(git rev-parse --git-common-dir) && '
           'printf "#!/bin/sh\\ntouch /tmp/pwned\\n" > "$common/hooks/post-commit" && '
           'chmod +x "$common/hooks/post-commit" && git config alias.st status && echo a > a.txt')


def test_a_task_that_writes_a_hook_and_the_shared_config_is_quarantined(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"evil": {"tasks": [{"id": "edit", "run": HOSTILE}]},
                            "good": {"depends_on": ["evil"], "tasks": [{"id": "edit", "run": "echo g > g.txt"}]}})
    done = uet(repo, "run", "--workers", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    ws = _ws(repo, "evil")
    assert ws["state"] == "quarantined"
    assert "git-admin: .git/hooks/post-commit added while evil ran" in ws["reasons"]
    assert "git-admin: .git/config changed while evil ran" in ws["reasons"]
    assert "a.txt" not in git(repo, "ls-tree", "-r", "--name-only", "main")
    shown = json.loads(uet(repo, "show", "evil", "--json").stdout)
    assert any(".git/hooks/post-commit" in r for r in json.dumps(shown).split('"'))


def test_submit_by_hand_compares_with_the_digest_of_its_own_start(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"a": {}, "b": {}})
    assert uet(repo, "start", "a").returncode == 0
    tree = repo / ".worktrees" / "a"
    git(tree, "config", "core.fsmonitor", "true")  # writes the shared .git/config
    assert uet(repo, "start", "b").returncode == 0  # b starts after the change: not b's doing
    write(tree / "a.txt", "a\n")
    write(repo / ".worktrees" / "b" / "b.txt", "b\n")
    done_b = uet(repo, "submit", "b")
    assert done_b.returncode == 0, done_b.stdout + done_b.stderr
    done_a = uet(repo, "submit", "a")
    assert done_a.returncode == 1
    assert "git-admin: .git/config changed while a ran (also running meanwhile, any may have made it: b)" \
        in done_a.stdout
    assert _ws(repo, "a")["state"] == "quarantined"


def test_info_attributes_and_worktree_config_are_watched(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"a": {}})
    assert uet(repo, "start", "a").returncode == 0
    tree = repo / ".worktrees" / "a"
    write(repo / ".git" / "info" / "attributes", "* filter=evil\n")
    write(tree / "a.txt", "a\n")
    done = uet(tree, "submit")
    assert done.returncode == 1
    assert "git-admin: .git/info/attributes added while a ran" in done.stdout


def test_a_later_sparse_start_does_not_change_the_shared_config_under_a_running_one(tmp_path: Path) -> None:
    # The first sparse checkout writes extensions.worktreeConfig into .git/config: an
    # unscoped workstream started before a scoped one must not be blamed for it.
    repo = _repo(tmp_path, {"a": {}, "b": {"scope": ["src/**"]}})
    config = yaml.safe_load((repo / ".uet" / "config.yaml").read_text())
    write(repo / ".uet" / "config.yaml", yaml.safe_dump({**config, "sparse_worktrees": True}))
    git(repo, "commit", "-q", "-am", "sparse")
    assert uet(repo, "start", "a").returncode == 0
    assert uet(repo, "start", "b").returncode == 0
    write(repo / ".worktrees" / "a" / "a.txt", "a\n")
    done = uet(repo, "submit", "a")
    assert done.returncode == 0, done.stdout + done.stderr
