"""The git layer's safety: a Repo's lifetime (no cat-file left running), and the tool's own
git calls never running a command the repository configured (filters, signing, merge
drivers, fsmonitor, pager, external diff, textconv, hooks)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from gitflow_uet.integrate.integrator import integrate
from gitflow_uet.project import Project
from tests.helpers import git, uet, write, write_spec
from tests.integration_helpers import make_project, queue_patch, record, state_of


def _cat_file_children() -> set[int]:
    """Pids of `git cat-file` processes whose parent is this process (zombies excluded)."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat_line.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z" and b"cat-file" in cmdline:
            found.add(int(entry.name))
    return found


def _wait_for(condition, seconds: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_opening_and_closing_20_projects_leaves_no_cat_file(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r")
    before = _cat_file_children()
    projects = []
    for _ in range(20):
        project = Project.open(repo)
        project.ledger.state()  # reads objects: starts the project's cat-file
        projects.append(project)
    started = _cat_file_children() - before
    assert len(started) == 20, f"expected one cat-file per open project, found {len(started)}"

    for project in projects:
        project.close()

    assert _wait_for(lambda: not (_cat_file_children() & started)), _cat_file_children() & started
    # And as context managers, with a read after close starting a fresh reader.
    with Project.open(repo) as project:
        project.ledger.state()
        assert project.repo.is_open
    assert not project.repo.is_open
    assert _wait_for(lambda: not (_cat_file_children() - before))


# -- repository-configured commands ------------------------------------------------------------


def _marker_script(bin_dir: Path, name: str, markers: Path, *, then: str = "") -> Path:
    """A program that records it ran (markers/<name>) and then does `then`."""
    script = bin_dir / name
    script.write_text(f"#!/bin/sh\ntouch '{markers / name}'\n{then}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _arm(repo: Path, tmp_path: Path) -> Path:
    """Configure, in `repo`, every program a git call could run on the tool's behalf; each
    touches its own marker file. Returns the markers folder."""
    markers, bin_dir = tmp_path / "markers", tmp_path / "bin"
    markers.mkdir()
    bin_dir.mkdir()
    config = {
        "filter.evil.clean": _marker_script(bin_dir, "clean-filter", markers, then="cat"),
        "filter.evil.smudge": _marker_script(bin_dir, "smudge-filter", markers, then="cat"),
        "filter.proc.process": _marker_script(bin_dir, "process-filter", markers, then="exit 1"),
        "gpg.program": _marker_script(bin_dir, "gpg", markers, then="exit 1"),
        "merge.evil.driver": f"{_marker_script(bin_dir, 'merge-driver', markers)} %O %A %B",
        "merge.union.driver": f"{_marker_script(bin_dir, 'union-override', markers)} %O %A %B",
        "diff.external": _marker_script(bin_dir, "external-diff", markers),
        "diff.evil.command": _marker_script(bin_dir, "diff-driver", markers),
        "diff.evil.textconv": _marker_script(bin_dir, "textconv", markers, then="cat \"$1\""),
        "core.fsmonitor": _marker_script(bin_dir, "fsmonitor", markers, then="exit 1"),
        "core.pager": _marker_script(bin_dir, "pager", markers, then="cat"),
        "pager.diff": _marker_script(bin_dir, "pager-diff", markers, then="cat"),
        "core.hooksPath": str(bin_dir / "hooks"),
        "commit.gpgSign": "true",
        "tag.gpgSign": "true",
        "log.showSignature": "true",
        "merge.default": "evil",
    }
    (bin_dir / "hooks").mkdir()
    for hook in ("pre-commit", "post-commit", "post-checkout", "reference-transaction", "post-index-change",
                 "commit-msg", "prepare-commit-msg"):
        _marker_script(bin_dir / "hooks", hook, markers)
    for key, value in config.items():
        git(repo, "config", key, str(value))
    # The attributes that route files to those programs, in the user's checkout and in
    # info/attributes (which a patch cannot touch, but the repository's owner can).
    info = Path(git(repo, "rev-parse", "--git-common-dir"))
    if not info.is_absolute():
        info = repo / info
    (info / "info").mkdir(exist_ok=True)
    (info / "info" / "attributes").write_text("*.txt filter=evil diff=evil\n*.py filter=proc\n")
    return markers


def test_no_repository_configured_command_runs_in_start_submit_integrate_gate_fsck_status(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "r", {"shared.txt": "one\ntwo\nthree\n", "code.py": "x = 1\n"},
                        gates={"unit": "true"})
    write(repo / ".gitattributes", "shared.txt merge=evil\n*.txt merge=evil\n")
    write_spec(repo, "a", title="A")
    write_spec(repo, "b", title="B")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "specs and attributes")
    markers = _arm(repo, tmp_path)

    for ws, line in (("a", "TWO (a)"), ("b", "TWO (b)")):
        done = uet(repo, "start", ws)
        assert done.returncode == 0, done.stderr
        where = Path(done.stdout.strip())
        write(where / "shared.txt", f"one\n{line}\nthree\n")
        write(where / f"{ws}.txt", f"{ws}\n")
        write(where / "code.py", "x = 1\n" if ws == "b" else "x = 2\n")
        done = uet(repo, "submit", ws)
        assert done.returncode == 0, done.stdout + done.stderr
    # The checkout guard runs `status` on the target's checkout: make its files stat-dirty.
    os.utime(repo / "shared.txt", (1, 1))
    os.utime(repo / "code.py", (1, 1))

    done = uet(repo, "integrate")
    assert done.returncode == 1, done.stdout + done.stderr  # b conflicts with a: quarantined
    for args in (("gate",), ("fsck",), ("status",), ("status", "--json"), ("log",), ("show", "a")):
        done = uet(repo, *args)
        assert done.returncode in (0, 1), (args, done.stderr)

    assert sorted(p.name for p in markers.iterdir()) == []
    assert state_of(repo, "workstream", "a") == "integrated"
    assert git(repo, "show", "main:shared.txt") == "one\nTWO (a)\nthree"
    # Content went in byte for byte: no clean filter, no textconv in the stored diff.
    assert git(repo, "show", "main:a.txt") == "a"
    b = record(repo, "workstream", "b")
    assert b["state"] == "quarantined"
    assert any("merge=evil" in reason for reason in b["reasons"]), b["reasons"]


# -- merge drivers --------------------------------------------------------------------------------


def _two_rewrites(tmp_path: Path, attributes: str, **config: object) -> tuple[Path, str, str]:
    repo = make_project(tmp_path / "r", {"more.py": '"""One line."""\n', ".gitattributes": attributes}, **config)
    a = queue_patch(repo, "ws-a", {"more.py": '"""Line from a."""\n'})
    b = queue_patch(repo, "ws-b", {"more.py": '"""Line from b."""\n'})
    return repo, a, b


@pytest.mark.parametrize("attributes, named", [
    ("more.py merge=union\n", "merge=union"),
    ("more.py merge=ours\n", "merge=ours"),
    ("more.py -merge\n", "-merge"),
    ("more.py merge=binary\n", "binary"),
    ("more.py merge=mine\n", "merge=mine"),
])
def test_a_path_whose_attributes_name_a_merge_driver_is_a_conflict(tmp_path: Path, attributes: str,
                                                                   named: str) -> None:
    repo, _a, b = _two_rewrites(tmp_path, attributes)

    with Project.open(repo) as project:
        result = integrate(project)

    assert result.landed == ["ws-a"] and result.quarantined == ["ws-b"]
    assert git(repo, "show", "main:more.py") == '"""Line from a."""'
    patch = record(repo, "patch", b)
    assert patch["state"] == "apply_failed" and patch["conflicts"] == ["more.py"]
    assert any(named in reason and "more.py" in reason for reason in patch["reasons"]), patch["reasons"]


def test_honor_lets_builtin_union_decide_and_never_runs_a_custom_driver(tmp_path: Path) -> None:
    ran = tmp_path / "driver-ran"
    repo, _a, _b = _two_rewrites(tmp_path, "more.py merge=union\nother.py merge=mine\n", merge_drivers="honor")
    git(repo, "config", "merge.mine.driver", f"touch {ran}; true")
    queue_patch(repo, "ws-c", {"other.py": "c\n"})
    queue_patch(repo, "ws-d", {"other.py": "d\n"})

    with Project.open(repo) as project:
        result = integrate(project)

    assert sorted(result.landed) == ["ws-a", "ws-b", "ws-c"] and result.quarantined == ["ws-d"]
    # union kept both lines: the built-in driver decided, as configured.
    assert git(repo, "show", "main:more.py").splitlines() == ['"""Line from a."""', '"""Line from b."""']
    reasons = record(repo, "workstream", "ws-d")["reasons"]
    assert any("merge=mine" in r and "custom" in r for r in reasons), reasons
    assert not ran.exists()


def test_attributes_come_from_the_trees_not_the_users_checkout(tmp_path: Path) -> None:
    """An uncommitted `.gitattributes` in the user's checkout changes nothing: the trees'
    attributes say text merge, so the two rewrites conflict as plain text."""
    repo, _a, b = _two_rewrites(tmp_path, "# nothing\n")
    write(repo / ".gitattributes", "more.py merge=union\n")

    with Project.open(repo) as project:
        result = integrate(project)

    assert result.quarantined == ["ws-b"]
    patch = record(repo, "patch", b)
    assert patch["conflicts"] == ["more.py"]
    assert not any("merge=" in reason for reason in patch["reasons"]), patch["reasons"]


def test_a_driver_the_config_defines_under_a_builtin_name_never_runs(tmp_path: Path) -> None:
    """`merge.text.driver` would be found before git's own text merge (merge.default is
    pinned to text): such a path is a conflict, and the command never runs; a configured
    `merge.ours.driver` is never run either (honored as ours = keep our side)."""
    ran = tmp_path / "text-driver-ran"
    repo, _a, b = _two_rewrites(tmp_path, "# none\n")
    git(repo, "config", "merge.text.driver", f"touch {ran}; true")

    with Project.open(repo) as project:
        result = integrate(project)

    assert result.quarantined == ["ws-b"] and not ran.exists()
    assert any("merge=text" in r and "custom" in r for r in record(repo, "patch", b)["reasons"])


def test_honor_keeps_our_side_for_merge_ours_without_running_the_configured_command(tmp_path: Path) -> None:
    ran = tmp_path / "ours-driver-ran"
    repo, _a, _b = _two_rewrites(tmp_path, "more.py merge=ours\n", merge_drivers="honor")
    git(repo, "config", "merge.ours.driver", f"touch {ran}; true")

    with Project.open(repo) as project:
        result = integrate(project)

    assert sorted(result.landed) == ["ws-a", "ws-b"] and not ran.exists()
    assert git(repo, "show", "main:more.py") == '"""Line from a."""'
