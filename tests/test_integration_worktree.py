"""The integration worktree is cleaned after every gate run, red or green: a quarantined
gate's junk does not stay on disk until the next integration."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitflow_uet.integrate.integrator import integrate
from gitflow_uet.project import Project
from tests.helpers import git, write
from tests.integration_helpers import PY, make_project, queue_patch

# Junk of every kind: a large untracked file, an ignored build folder, a nested repository,
# an edit to a tracked file.
JUNK = (f"{PY} -c \"import os; open('junk.bin','wb').write(os.urandom(4 << 20)); "
        "os.makedirs('build/deep', exist_ok=True); open('build/deep/out.o','w').write('x'); "
        "open('README.md','a').write('edited by the gate')\" && git init -q nested && ")


@pytest.mark.parametrize("verdict", ["true", "false"])
def test_gate_junk_is_gone_after_the_gate_red_or_green(tmp_path: Path, verdict: str) -> None:
    repo = make_project(tmp_path / "r", {"README.md": "hello\n", ".gitignore": "build/\n"},
                        gates={"unit": JUNK + verdict})
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})

    with Project.open(repo) as project:
        result = integrate(project)

    assert (result.landed if verdict == "true" else result.quarantined) == ["ws-1"]
    where = repo / ".worktrees" / ".integrate"
    left = sorted(str(p.relative_to(where)) for p in where.rglob("*") if ".git" not in p.parts) \
        if where.exists() else []
    assert "junk.bin" not in left and not any(p.startswith(("build", "nested")) for p in left), left
    if where.exists():
        assert git(where, "status", "--porcelain", "--ignored") == ""
        assert (where / "README.md").read_text() == "hello\n"


def test_a_gate_that_deletes_the_worktrees_git_file_never_resets_the_users_checkout(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", gates={"unit": "rm -f .git && touch junk"})
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    write(repo / "precious.txt", "uncommitted\n")
    write(repo / "README.md", "edited, not committed\n")
    head = git(repo, "rev-parse", "HEAD")

    with Project.open(repo) as project:
        integrate(project)

    assert (repo / "precious.txt").read_text() == "uncommitted\n"
    assert (repo / "README.md").read_text() == "edited, not committed\n"
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(repo, "rev-parse", "HEAD") != "" and head
    assert not (repo / ".worktrees" / ".integrate" / "junk").exists()
