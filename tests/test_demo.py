from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitflow_uet.demo import EXPECTED, expected_subjects
from tests.helpers import git, uet


@pytest.mark.slow
def test_demo_lands_the_designed_commits_and_quarantines_the_two_bad_ones(tmp_path: Path) -> None:
    where = tmp_path / "demo"
    done = uet(tmp_path, "demo", "--dir", str(where), "--workers", "3", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "git log refs/uet" in done.stdout
    # The speedup is labelled with the two numbers it is the ratio of (issue 9.12).
    found = re.search(r"speedup (\d+\.\d+)x \((\d+\.\d)s of task time in (\d+\.\d)s of run time; "
                      r"(\d+\.\d)s with building the project\)", done.stdout)
    assert found, done.stdout
    speedup, task, wall, total = map(float, found.groups())
    assert abs(speedup - task / wall) <= 0.1 * speedup + 0.05 and total >= wall

    subjects = git(where, "log", "--format=%s", "main").splitlines()
    assert sorted(subjects[:-1]) == expected_subjects() and len(subjects) == 7
    assert git(where, "status", "--porcelain") == ""  # the user's checkout followed main

    status = json.loads(uet(where, "status", "--json").stdout)
    states = {r["id"]: r["state"] for r in status["workstreams"]}
    assert states == EXPECTED
    assert states["hotfix-version"] == states["fast-add"] == "quarantined"
    assert git(where, "rev-parse", "--verify", "-q", "refs/heads/uet/quarantine/hotfix-version")
    assert '__version__ = "0.2.0"' in (where / "calc" / "__init__.py").read_text()
    assert "return a + b" in (where / "calc" / "core.py").read_text()  # fast-add never landed

    assert git(where, "log", "--oneline", "refs/uet")
    page = (where / ".git" / "uet" / "report.html").read_text()
    assert "<svg" in page and "hotfix-version" in page


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("mine\n")
    done = uet(tmp_path, "demo", "--dir", str(tmp_path / "busy"))
    assert done.returncode == 2
    assert "must be an empty folder" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["file.txt"]
