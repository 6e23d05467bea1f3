"""Kill the integrator (SIGKILL, via UET_FAULT) at every named point, rerun it, and check
that it converges: each workstream on the target exactly once, the ledger agreeing, the
target green, the checkout in step, fsck clean."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitflow_uet.views.fsck import fsck
from gitflow_uet.integrate.integrator import FAULT_POINTS
from gitflow_uet.project import Project
from tests.helpers import git, uet, write
from tests.integration_helpers import PY, make_project, queue_patch, record, state_of, trailer_count

# The check gate: every *.txt file at the root must not say "bad".
CHECK = """\
import pathlib, sys
bad = [p.name for p in pathlib.Path('.').glob('*.txt') if 'bad' in p.read_text()]
sys.exit(f'bad files: {bad}' if bad else 0)
"""

# Each point as the first time it is reached, plus some reached later in the run (the
# second patch's landing, the ledger's compare-and-swap at each write).
POINTS = [*FAULT_POINTS, "integrate.landed:2", "integrate.checkout-synced:2", "candidate.gate-finished:3",
          *(f"ledger.before-cas:{n}" for n in (1, 2, 3, 4, 5))]


def _scenario(tmp_path: Path) -> Path:
    repo = make_project(tmp_path / "r", {"README.md": "hello\n", "check.py": CHECK},
                        gates={"check": f"{PY} check.py"})
    queue_patch(repo, "ws-a", {"a.txt": "a ok\n", "README.md": "hello a\n"}, worktree=True)
    queue_patch(repo, "ws-b", {"b.txt": "b ok\n"}, depends_on=["ws-a"], worktree=True)
    queue_patch(repo, "ws-c", {"c.txt": "bad\n"}, priority="LOW")
    # a local edit elsewhere in the user's checkout, which must survive everything
    write(repo / "local.txt", "mine\n")
    return repo


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_kill_at_point_then_rerun_converges(tmp_path: Path, point: str) -> None:
    repo = _scenario(tmp_path)

    killed = uet(repo, "integrate", env={"UET_FAULT": point})
    assert killed.returncode == -9, f"{point} was never reached: {killed.stderr}"

    rerun = uet(repo, "integrate")
    assert rerun.returncode in (0, 1), rerun.stderr
    assert "Traceback" not in rerun.stderr

    for ws in ("ws-a", "ws-b"):
        assert trailer_count(repo, "Uet-Workstream", ws) == 1, ws
        ws_record = record(repo, "workstream", ws)
        assert ws_record["state"] == "integrated"
        assert state_of(repo, "patch", ws_record["patch"]) == "committed"
        assert git(repo, "notes", "--ref=uet", "show", ws_record["commit"]).startswith(f"Uet-Workstream: {ws}")
    assert trailer_count(repo, "Uet-Workstream", "ws-c") == 0
    assert state_of(repo, "workstream", "ws-c") == "quarantined"
    assert git(repo, "branch", "--list", "uet/*").split() == ["uet/quarantine/ws-c"]
    assert sorted(p.name for p in (repo / ".worktrees").iterdir()) == [".integrate"]
    # the target is green and the user's checkout holds it, local edit kept
    assert git(repo, "log", "-2", "--format=%s", "main").splitlines() == ["Change ws-b (ws-b)", "Change ws-a (ws-a)"]
    assert subprocess.run([PY, "check.py"], cwd=repo).returncode == 0
    assert (repo / "README.md").read_text() == "hello a\n" and (repo / "b.txt").read_text() == "b ok\n"
    status = {line.strip() for line in git(repo, "status", "--porcelain").splitlines()}
    assert status == {"?? local.txt"}
    report = fsck(Project.open(repo))
    assert report.problems == [], [p.message for p in report.problems]

    again = uet(repo, "integrate")
    assert again.returncode == 0 and "nothing queued" in again.stdout
