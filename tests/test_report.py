from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from gitflow_uet.errors import UsageError
from gitflow_uet.project import Project
from gitflow_uet.views.report import build_report
from gitflow_uet.views.report_html import render_html
from gitflow_uet.run.runner import run
from tests.helpers import git, make_repo, uet, write_spec

PY = shlex.quote(sys.executable)
# A title that would break the page (or inject into it) unless escaped.
NASTY = 'Fix <script>alert("x")</script> & co'


def _edit(name: str, seconds: float = 0.3) -> str:
    code = f"import pathlib, time; time.sleep({seconds}); pathlib.Path('{name}').write_text('{name}\\n')"
    return f"{PY} -c {shlex.quote(code)}"


def _repo(tmp_path: Path) -> Path:
    """Three workstreams: two in parallel (one with a title to escape), one after them;
    plus one that fails and one blocked behind it."""
    root = make_repo(tmp_path / "repo")
    write_spec(root, "alpha", title=NASTY, scope=["a.txt"], tasks=[{"id": "edit", "run": _edit("a.txt")}])
    write_spec(root, "beta", scope=["b.txt"], tasks=[{"id": "edit", "run": _edit("b.txt")},
                                                     {"id": "check", "run": f"{PY} -c pass"}])
    write_spec(root, "gamma", depends_on=["alpha", "beta"], scope=["c.txt"],
               tasks=[{"id": "edit", "run": _edit("c.txt", 0.1)}])
    write_spec(root, "broken", scope=["d.txt"], tasks=[{"id": "edit", "run": f"{PY} -c 'raise SystemExit(3)'"}])
    write_spec(root, "after-broken", depends_on=["broken"], tasks=[{"id": "edit", "run": _edit("e.txt")}])
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "specs")
    return root


@pytest.fixture
def ran(tmp_path: Path) -> tuple[Path, str]:
    root = _repo(tmp_path)
    result = run(Project.open(root), workers=3)
    assert result.states["gamma"] == "integrated"
    return root, result.run_id


def test_report_has_every_workstream_with_times_and_speedup(ran: tuple[Path, str]) -> None:
    root, run_id = ran
    report = build_report(Project.open(root))
    assert report["run"]["id"] == run_id
    rows = {r["id"]: r for r in report["workstreams"]}
    assert set(rows) == {"alpha", "beta", "gamma", "broken", "after-broken"}
    assert {i: r["outcome"] for i, r in rows.items()} == {
        "alpha": "integrated", "beta": "integrated", "gamma": "integrated", "broken": "failed",
        "after-broken": "blocked"}
    for ws_id in ("alpha", "beta", "gamma"):
        row = rows[ws_id]
        assert row["worker"] and row["duration"] > 0.1 and row["wait"] >= 0
        assert row["end"] > row["start"]
        assert row["queue_wait"] is not None and row["queue_wait"] >= 0
        assert row["verdict"] >= row["submitted"]
        assert row["tasks"]["edit"]["state"] == "ok" and row["tasks"]["edit"]["seconds"] >= 0.1
        assert row["commit"] and row["patch_state"] == "committed"
    assert list(rows["beta"]["tasks"]) == ["edit", "check"]  # the spec's order
    # gamma waits for both of its dependencies to land.
    assert rows["gamma"]["wait"] >= max(rows["alpha"]["verdict"], rows["beta"]["verdict"])
    assert rows["broken"]["tasks"]["edit"]["exit"] == 3 and rows["broken"]["reasons"]
    assert rows["after-broken"]["worker"] is None and rows["after-broken"]["duration"] is None
    assert [s["workstream"] for s in report["integrations"]][-1] == "gamma"
    assert len(report["integrations"]) == 3
    totals = report["totals"]
    assert totals["outcome"] == {"blocked": 1, "failed": 1, "integrated": 3}
    assert totals["sum_task_seconds"] > 0.6 and totals["seconds"] > 0
    assert totals["speedup"] == pytest.approx(totals["sum_task_seconds"] / totals["seconds"], abs=0.01)
    assert report["plan"]["waves"] == [["alpha", "beta", "broken"], ["after-broken", "gamma"]]
    assert ["alpha", "gamma"] in report["plan"]["edges"]


def test_report_of_a_named_run_is_that_run(ran: tuple[Path, str]) -> None:
    root, first = ran
    second = run(Project.open(root), ["alpha"], workers=1).run_id  # nothing left to do
    project = Project.open(root)
    assert build_report(project)["run"]["id"] == second
    named = build_report(project, first[:12].lower())  # a prefix, any case
    assert named["run"]["id"] == first
    assert {r["id"]: r["outcome"] for r in named["workstreams"]}["gamma"] == "integrated"
    with pytest.raises(UsageError, match="not a recorded run"):
        build_report(project, "01ZZZZ")


def test_html_is_one_self_contained_document(ran: tuple[Path, str]) -> None:
    root, _ = ran
    page = render_html(build_report(Project.open(root)))
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 2  # the timeline and the plan
    for ws_id in ("alpha", "beta", "gamma", "broken", "after-broken"):
        assert f">{ws_id}<" in page
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "Fix &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert ">integrator<" in page  # the integrator's lane


def test_cli_report_json_text_and_html(ran: tuple[Path, str], tmp_path: Path) -> None:
    root, run_id = ran
    done = uet(root, "report", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["run"]["id"] == run_id and doc["totals"]["speedup"] > 0
    text = uet(root, "report")
    assert text.returncode == 0, text.stderr
    assert re.search(r"speedup \d+\.\d\dx", text.stdout) and "gamma" in text.stdout
    out = tmp_path / "out" / "report.html"
    page = uet(root, "report", run_id, "--html", str(out))
    assert page.returncode == 0, page.stderr
    assert page.stdout.strip() == str(out.resolve()) and "<svg" in out.read_text()


def test_cli_report_without_a_run_is_one_line_exit_2(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    done = uet(root, "report")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["git uet: no run recorded yet; `git uet run` first"]
    assert done.stdout == ""
