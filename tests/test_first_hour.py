"""Issue 9: what a new user meets in the first hour, driven through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import git, make_repo, uet, write, write_spec


def _plain_repo(path: Path, branch: str) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    write(path / "README.md", "hello\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def test_init_targets_the_branch_checked_out(tmp_path: Path) -> None:
    repo = _plain_repo(tmp_path / "repo", "master")
    done = uet(repo, "init")
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load((repo / ".uet" / "config.yaml").read_text())
    assert config["target"] == "master"
    assert uet(repo, "plan").returncode == 0


@pytest.mark.parametrize("command", [["plan"], ["run"], ["integrate"]])
def test_a_missing_target_is_refused_with_exit_2(tmp_path: Path, command: list[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "branch", "-m", "main", "master")
    write_spec(repo, "ws-1", tasks=[{"id": "t", "run": "true"}])
    done = uet(repo, *command)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "the target branch 'main' does not exist" in done.stderr and "branches: master" in done.stderr
    assert "Traceback" not in done.stderr
    assert git(repo, "for-each-ref", "refs/uet", "refs/heads/uet/") == ""  # nothing recorded, nothing started


@pytest.mark.slow
@pytest.mark.parametrize("gates", ["{}", "{smoke: 'true'}"])
def test_a_config_without_the_default_gate_works(tmp_path: Path, gates: str) -> None:
    repo = make_repo(tmp_path / "repo")
    write(repo / ".uet" / "config.yaml", f"schema_version: 1\ngates: {gates}\n")
    git(repo, "commit", "-qam", "own gates")
    write_spec(repo, "ws-1", tasks=[{"id": "t", "run": "echo hi > hi.txt"}])
    for command in (["status"], ["plan"], ["gate"], ["hooks", "install"]):
        done = uet(repo, *command)
        assert done.returncode == 0, (command, done.stderr)
    done = uet(repo, "run")
    assert done.returncode == 0, done.stderr
    assert (git(repo, "show", "main:hi.txt")) == "hi"


@pytest.mark.slow
def test_one_broken_spec_does_not_hide_the_others(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write_spec(repo, "ws-1", tasks=[{"id": "t", "run": "echo one > one.txt"}])
    assert uet(repo, "run").returncode == 0
    write_spec(repo, "ws-2", title="Second")
    write(repo / "workstreams" / "bad.yaml", "id: bad\ntitle: Bad\ndepend_on: [ws-1]\n")
    write(repo / "workstreams" / "empty.yaml", "")
    warning = "warning: workstreams/bad.yaml: depend_on: Extra inputs are not permitted (did you mean 'depends_on'?)"
    for command in (["status"], ["status", "--json"], ["log"], ["log", "ws-1", "--json"], ["show", "ws-1"],
                    ["show", "ws-2", "--json"]):
        done = uet(repo, *command)
        assert done.returncode == 0, (command, done.stderr)
        assert warning in done.stderr.splitlines(), (command, done.stderr)
        assert "warning: workstreams/empty.yaml: empty spec" in done.stderr
    status = uet(repo, "status").stdout
    assert "ws-1\tintegrated" in status and "ws-2\tplanned" in status
    for command in (["plan"], ["run"]):
        done = uet(repo, *command)
        assert done.returncode == 2, (command, done.stderr)
        lines = done.stderr.splitlines()
        assert lines[0] == "git uet: 2 invalid specs:", lines
        assert lines[1] == "  " + warning.removeprefix("warning: ")
        assert lines[2].startswith("  workstreams/empty.yaml: empty spec")


def test_piped_status_has_a_header_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write_spec(repo, "ws-1")
    lines = uet(repo, "status").stdout.splitlines()
    assert lines[0].split("\t") == ["workstream", "state", "branch", "patch", "last change"]
    assert lines[1].startswith("ws-1\tplanned")


@pytest.mark.slow
def test_show_and_log_take_the_short_patch_ids_status_prints(tmp_path: Path) -> None:
    import json
    import os

    repo = make_repo(tmp_path / "repo")
    write_spec(repo, "ws-1", tasks=[{"id": "t", "run": "echo one > one.txt"}])
    write_spec(repo, "ws-2", tasks=[{"id": "t", "run": "echo two > two.txt"}])
    assert uet(repo, "run").returncode == 0
    rows = [line.split("\t") for line in uet(repo, "status").stdout.splitlines()[1:]]
    short = {row[0]: row[3] for row in rows if len(row) == 5}
    patches = {ws: json.loads(uet(repo, "show", ws, "--json").stdout)["record"]["patch"] for ws in short}
    for ws, prefix in short.items():
        assert len(prefix) == 10 and patches[ws].startswith(prefix)
        for args in (["show", prefix], ["show", prefix.lower(), "--json"], ["log", prefix], ["log", prefix, "--json"]):
            done = uet(repo, *args)
            assert done.returncode == 0, (args, done.stderr)
            assert patches[ws] in done.stdout, args
    common = os.path.commonprefix(list(patches.values()))
    if len(common) >= 4:  # ULIDs made seconds apart share their leading (time) characters
        done = uet(repo, "show", common)
        assert done.returncode == 2
        assert done.stderr.strip() == (f"git uet: {common!r} is the start of 2 patch ids: "
                                       f"{', '.join(sorted(patches.values()))}")


def test_ledger_log_subjects_lead_with_the_workstream(tmp_path: Path) -> None:
    import json

    repo = make_repo(tmp_path / "repo")
    write_spec(repo, "ws-1", tasks=[{"id": "t", "run": "echo one > one.txt"}])
    write_spec(repo, "ws-2", tasks=[{"id": "t", "run": "exit 3"}])
    assert uet(repo, "run").returncode == 1
    landed = git(repo, "rev-parse", "--short=7", "main")
    oneline = git(repo, "log", "refs/uet", "--format=%s").splitlines()
    assert any(s.startswith(f"ws-1: integrated as {landed} on main (+") for s in oneline), oneline
    for raw in git(repo, "log", "refs/uet", "--format=%s%x1f%B%x1e").split("\x1e"):
        if not raw.strip():
            continue
        subject, body = raw.strip().split("\x1f", 1)
        changes = [json.loads(line.split(":", 1)[1]) for line in body.splitlines() if line.startswith("Uet-Entry:")]
        workstreams = [c["id"] for c in changes if c["kind"] == "workstream"]
        if workstreams:
            assert subject.startswith(f"{workstreams[0]}: "), subject
    assert any(s.startswith("ws-2: running → failed") for s in oneline), oneline


def test_every_fix_round_keeps_its_log(tmp_path: Path) -> None:
    from gitflow_uet.project import Project
    from gitflow_uet.run.runner import run

    repo = make_repo(tmp_path / "repo")
    write(repo / ".uet" / "config.yaml", "schema_version: 1\ngates: {}\nmax_fix_rounds: 2\n")
    # Each run of `check` prints which run it is (a counter outside the worktree), then fails.
    counter = tmp_path / "count"
    check = f'n=$(($(cat {counter} 2>/dev/null || echo 0) + 1)); echo $n > {counter}; echo "check run $n"; exit 1'
    write_spec(repo, "ws-1", tasks=[{"id": "edit", "run": "echo fixing"}, {"id": "check", "run": check, "fix": "edit"}])
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "spec")
    project = Project.open(repo)
    assert run(project, workers=1).states == {"ws-1": "failed"}
    state = project.ledger.state()
    runs = state.get("workstream", "ws-1")["tasks"]["check"]["runs"]
    assert [r["label"] for r in runs] == ["check", "check (round 2)", "check (round 3)"]
    assert [state.blob(r["log"]["blob"]) for r in runs] == [b"check run 1\n", b"check run 2\n", b"check run 3\n"]
    fixes = state.get("workstream", "ws-1")["tasks"]["edit"]["runs"]
    assert [r["label"] for r in fixes] == ["edit", "edit (fix 1)", "edit (fix 2)"]
    shown = uet(repo, "show", "ws-1").stdout
    assert all(f"check run {n}" in shown for n in (1, 2, 3))


def test_run_ends_with_every_failure_and_its_reason(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write_spec(repo, "ws-1", tasks=[{"id": "t", "run": "echo one > one.txt"}])
    write_spec(repo, "ws-2", tasks=[{"id": "boom", "run": "exit 3"}])
    write_spec(repo, "ws-3", depends_on=["ws-2"], tasks=[{"id": "t", "run": "true"}])
    done = uet(repo, "run")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "  ws-2: failed: task boom failed: exit 3" in lines, lines
    assert any(line.startswith("  ws-3: blocked: ") and "ws-2" in line for line in lines), lines
    report = uet(repo, "report").stdout.splitlines()  # piped: the table has its header line
    assert report[1].split("\t") == ["workstream", "outcome", "worker", "duration", "wait", "queue wait", "gates"]


def test_the_live_table_keeps_the_reason_in_the_row() -> None:
    from gitflow_uet.cli.progress import Progress

    progress = Progress(json_lines=False)
    progress._track("ws-start", {"workstream": "ws-2", "worker": "w1"})
    progress._track("ws-failed", {"workstream": "ws-2", "reasons": ["task boom failed: exit 3"]})
    assert progress.rows["ws-2"]["state"] == "failed"
    assert progress.rows["ws-2"]["note"] == "task boom failed: exit 3"


def test_a_conflict_names_the_workstreams_that_changed_the_path(tmp_path: Path) -> None:
    from tests.integration_helpers import make_project, queue_patch, record

    repo = make_project(tmp_path / "r", {"shared.txt": "one\ntwo\nthree\n", "far.txt": "x\n"})
    queue_patch(repo, "ws-a", {"shared.txt": "one\nTWO (a)\nthree\n"})
    queue_patch(repo, "ws-c", {"far.txt": "y\n"})  # lands too, but never touched shared.txt
    pid_b = queue_patch(repo, "ws-b", {"shared.txt": "one\nTWO (b)\nthree\n"})
    done = uet(repo, "integrate")
    assert done.returncode == 1
    reason = "shared.txt changed on main since the base by ws-a"
    assert f"quarantined ws-b: conflict: " in done.stdout and reason in done.stdout, done.stdout
    assert reason in record(repo, "patch", pid_b)["reasons"]
    assert "ws-c" not in done.stdout.split("quarantined ws-b", 1)[1]


def test_every_command_reads_the_main_worktrees_config_as_on_disk(tmp_path: Path) -> None:
    import json

    repo = make_repo(tmp_path / "repo")
    write_spec(repo, "ws-1")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "spec")
    started = uet(repo, "start", "ws-1")
    assert started.returncode == 0, started.stderr
    worktree = Path(started.stdout.strip().splitlines()[-1])
    assert (worktree / ".uet" / "config.yaml").is_file()
    # Edited, not committed: the worktree still holds the committed `gates: {}`.
    write(repo / ".uet" / "config.yaml", "schema_version: 1\ngates: {where: 'pwd > where.txt'}\n")
    done = uet(worktree, "gate", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [g["name"] for g in doc["gates"]] == ["where"]
    assert (worktree / "where.txt").read_text().strip() == str(worktree.resolve())  # gates run where you are
