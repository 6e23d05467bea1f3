"""`git uet fsck` checks that the refs it owns are complete: a ref whose objects were lost
(an outside `git gc`, a disk copy gone wrong) is reported with the missing object named."""

from __future__ import annotations

import json
from pathlib import Path

from gitflow_uet.integrate.integrator import integrate
from gitflow_uet.project import Project
from tests.helpers import git, uet
from tests.integration_helpers import make_project, queue_patch


def _drop_loose(repo: Path, sha: str) -> None:
    path = repo / ".git" / "objects" / sha[:2] / sha[2:]
    assert path.is_file(), f"{sha} is not a loose object"
    path.unlink()


def _repo(tmp_path: Path) -> Path:
    repo = make_project(tmp_path / "r", {"shared.txt": "one\n"}, gates={"unit": "true"})
    queue_patch(repo, "ws-1", {"a.txt": "a\n"})
    queue_patch(repo, "ws-2", {"shared.txt": "two\n"})
    queue_patch(repo, "ws-3", {"shared.txt": "three\n"})  # conflicts with ws-2: quarantined
    with Project.open(repo) as project:
        assert integrate(project).quarantined == ["ws-3"]
    assert uet(repo, "fsck").returncode == 0
    return repo


def test_fsck_names_the_object_refs_uet_is_missing(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    record = next(line.split()[2] for line in git(repo, "ls-tree", "-r", "refs/uet").splitlines()
                  if "workstreams/" in line)
    _drop_loose(repo, record)

    done = uet(repo, "fsck")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    line = next(ln for ln in done.stdout.splitlines() if record in ln)
    assert "refs/uet" in line and "missing blob" in line
    doc = json.loads(uet(repo, "fsck", "--json").stdout)
    assert not doc["ok"] and any(p["kind"] == "objects" and p["item"] == "refs/uet" for p in doc["problems"])


def test_fsck_reports_a_ledger_tip_that_is_gone_and_an_incomplete_branch(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    tip = git(repo, "rev-parse", "refs/uet")
    quarantined = git(repo, "rev-parse", "uet/quarantine/ws-3:shared.txt")
    _drop_loose(repo, tip)
    _drop_loose(repo, quarantined)

    done = uet(repo, "fsck")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert any("refs/uet" in ln and tip in ln for ln in done.stdout.splitlines()), done.stdout
    assert any("refs/heads/uet/quarantine/ws-3" in ln and quarantined in ln for ln in done.stdout.splitlines()), \
        done.stdout


def test_fsck_reports_a_missing_note_object(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    note_tree = git(repo, "rev-parse", "refs/notes/uet^{tree}")
    _drop_loose(repo, note_tree)

    done = uet(repo, "fsck")

    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert any("refs/notes/uet" in ln and note_tree in ln for ln in done.stdout.splitlines()), done.stdout
