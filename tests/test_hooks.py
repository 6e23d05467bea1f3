"""Hook shims: install/uninstall around foreign hooks, and gates on what is committed or pushed."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gitflow_uet.integrate import hooks
from gitflow_uet.errors import UsageError
from gitflow_uet.git.checkout import hooks_dir
from gitflow_uet.project import Project
from tests.helpers import git, make_repo, uet, write

NO_BAD = "test ! -e bad.txt"


def configure(repo: Path, gates: dict[str, str], pre_commit: list[str] | None = None,
              pre_push: list[str] | None = None) -> None:
    doc = {"schema_version": 1, "gates": gates, "integrate_gates": [],
           "hook_gates": {"pre-commit": pre_commit or [], "pre-push": pre_push or []}}
    write(repo / ".uet" / "config.yaml", yaml.safe_dump(doc, sort_keys=False))


def committed(repo: Path, *args: str) -> bool:
    """Whether `git commit` (with the installed hooks running) made a commit."""
    before = git(repo, "rev-parse", "HEAD")
    git(repo, "commit", "-q", "-m", "change", *args, check=False)
    return git(repo, "rev-parse", "HEAD") != before


def foreign_hook(path: Path, body: str) -> str:
    text = f"#!/bin/sh\n{body}\n"
    write(path, text)
    path.chmod(0o755)
    return text


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    configure(repo, {"no-bad": NO_BAD, "no-BAD": "! grep -rq BAD --exclude-dir=.uet ."},
              pre_commit=["no-bad", "no-BAD"])
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "gates")
    return repo


# -- install / uninstall ----------------------------------------------------------------------

def test_install_writes_executable_shims_with_the_marker_and_python(repo: Path) -> None:
    messages = hooks.install(Project.open(repo))
    assert len(messages) == 2 and all("installed" in m for m in messages)
    for hook in hooks.HOOKS:
        path = repo / ".git" / "hooks" / hook
        text = path.read_text()
        assert "# git-uet-hook v1" in text
        assert sys.executable in text and "@PYTHON@" not in text
        assert path.stat().st_mode & stat.S_IXUSR


def test_install_twice_changes_nothing_and_says_so(repo: Path) -> None:
    hooks.install(Project.open(repo))
    path = repo / ".git" / "hooks" / "pre-commit"
    before = (path.read_text(), path.stat().st_mtime_ns)
    again = hooks.install(Project.open(repo))
    assert all("nothing changed" in m for m in again)
    assert (path.read_text(), path.stat().st_mtime_ns) == before
    assert not (path.parent / "pre-commit.legacy").exists()


def test_foreign_hook_is_kept_still_runs_and_comes_back(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "legacy-ran"
    path = repo / ".git" / "hooks" / "pre-commit"
    original = foreign_hook(path, f'echo "$@" > "{marker}"')
    messages = hooks.install(Project.open(repo))
    legacy = path.with_name("pre-commit.legacy")
    assert legacy.read_text() == original
    assert hooks.is_ours(path)
    assert any("pre-commit.legacy" in m for m in messages)

    write(repo / "good.txt", "fine\n")
    git(repo, "add", "good.txt")
    assert committed(repo)
    assert marker.exists()

    messages = hooks.uninstall(Project.open(repo))
    assert path.read_text() == original
    assert not legacy.exists()
    assert not (path.parent / "pre-push").exists()
    assert any("restored" in m for m in messages)


def test_failing_foreign_hook_still_refuses_the_commit(repo: Path) -> None:
    foreign_hook(repo / ".git" / "hooks" / "pre-commit", "exit 1")
    hooks.install(Project.open(repo))
    write(repo / "good.txt", "fine\n")
    git(repo, "add", "good.txt")
    assert not committed(repo)


def test_foreign_hook_and_legacy_both_present_is_refused_untouched(repo: Path) -> None:
    folder = repo / ".git" / "hooks"
    mine = foreign_hook(folder / "pre-push", "exit 0")
    older = foreign_hook(folder / "pre-push.legacy", "exit 1")
    with pytest.raises(UsageError) as err:
        hooks.install(Project.open(repo))
    assert "pre-push" in str(err.value) and "pre-push.legacy" in str(err.value)
    assert (folder / "pre-push").read_text() == mine
    assert (folder / "pre-push.legacy").read_text() == older
    assert not (folder / "pre-commit").exists()  # all or nothing


def test_uninstall_leaves_foreign_hooks_alone(repo: Path) -> None:
    folder = repo / ".git" / "hooks"
    hooks.install(Project.open(repo))
    (folder / "pre-push").unlink()
    theirs = foreign_hook(folder / "pre-push", "exit 0")
    hooks.uninstall(Project.open(repo))
    assert not (folder / "pre-commit").exists()
    assert (folder / "pre-push").read_text() == theirs
    assert hooks.uninstall(Project.open(repo)) == ["pre-push: " + f"{folder / 'pre-push'} is not a git uet hook, left alone"]


def test_core_hooks_path_is_respected(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    assert hooks_dir(Project.open(repo).repo) == repo.resolve() / ".githooks"
    hooks.install(Project.open(repo))
    assert hooks.is_ours(repo / ".githooks" / "pre-commit")
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    write(repo / "bad.txt", "x\n")
    git(repo, "add", "bad.txt")
    assert not committed(repo)  # git ran the shim from core.hooksPath


def test_hooks_dir_without_core_hooks_path(repo: Path) -> None:
    assert hooks_dir(Project.open(repo).repo) == repo.resolve() / ".git" / "hooks"


def test_hooks_cli(repo: Path) -> None:
    done = uet(repo, "hooks", "install")
    assert done.returncode == 0, done.stderr
    assert hooks.is_ours(repo / ".git" / "hooks" / "pre-commit")
    again = uet(repo, "hooks", "install")
    assert again.returncode == 0 and "nothing changed" in again.stdout
    bad = uet(repo, "hooks", "reinstall")
    assert bad.returncode == 2 and "reinstall" in bad.stderr
    assert uet(repo, "hooks", "uninstall").returncode == 0
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


# -- pre-commit: the staged content -----------------------------------------------------------

def test_pre_commit_gates_run_on_staged_content(repo: Path) -> None:
    hooks.install(Project.open(repo))
    write(repo / "bad.txt", "x\n")
    git(repo, "add", "bad.txt")
    assert not committed(repo)

    # Unstaged but still in the work tree: the gate must not see it.
    git(repo, "reset", "-q", "bad.txt")
    write(repo / "good.txt", "fine\n")
    git(repo, "add", "good.txt")
    assert committed(repo)
    assert (repo / "bad.txt").exists()
    assert "bad.txt" not in git(repo, "ls-tree", "-r", "--name-only", "HEAD")


def test_pre_commit_with_paths_uses_the_index_git_hands_the_hook(repo: Path) -> None:
    # `commit <path>` and `commit -a` build a temporary index and name it in GIT_INDEX_FILE;
    # the gates must see that one, not .git/index (which here never holds BAD).
    write(repo / "README.md", "hello BAD\n")
    hooks.install(Project.open(repo))
    assert not committed(repo, "README.md")
    assert not committed(repo, "-a")
    write(repo / "README.md", "hello again\n")
    assert committed(repo, "-a")


def test_pre_commit_in_a_linked_worktree_uses_its_index(repo: Path, tmp_path: Path) -> None:
    hooks.install(Project.open(repo))
    other = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "side", str(other))
    write(other / "bad.txt", "x\n")
    git(other, "add", "bad.txt")
    assert not committed(other)
    # Run by hand (no GIT_INDEX_FILE): still that worktree's own index.
    done = uet(other, "hook-run", "pre-commit")
    assert done.returncode == 1 and "no-bad" in done.stderr
    assert uet(repo, "hook-run", "pre-commit").returncode == 0


def test_run_hook_without_gates_does_nothing(repo: Path) -> None:
    configure(repo, {"no-bad": NO_BAD})
    write(repo / "bad.txt", "x\n")
    git(repo, "add", "bad.txt")
    assert hooks.run_hook(Project.open(repo), "pre-commit", [], b"") == []


def test_run_hook_leaves_no_export_behind(repo: Path) -> None:
    [result, _] = hooks.run_hook(Project.open(repo), "pre-commit", [], b"")
    assert result.ok
    configure(repo, {"where": "pwd"}, pre_commit=["where"])
    [where] = hooks.run_hook(Project.open(repo), "pre-commit", [], b"")
    folder = Path(where.text.strip())
    assert folder != repo and not folder.exists()


# -- pre-push: the pushed commits -------------------------------------------------------------

@pytest.fixture
def pushing(repo: Path, tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    configure(repo, {"no-bad": NO_BAD}, pre_push=["no-bad"])
    git(repo, "commit", "-q", "-am", "push gates")
    return remote


def test_pre_push_refuses_a_commit_that_fails_the_gate(repo: Path, pushing: Path) -> None:
    hooks.install(Project.open(repo))
    write(repo / "bad.txt", "x\n")
    git(repo, "add", "bad.txt")
    git(repo, "commit", "-q", "-m", "bad")
    git(repo, "push", "-q", "origin", "main", check=False)
    assert git(pushing, "for-each-ref") == ""

    # Fixed in the next commit, but the work tree still holds a bad.txt: the gate judges
    # the pushed commit, not the work tree.
    git(repo, "rm", "-q", "--cached", "bad.txt")
    git(repo, "commit", "-q", "-m", "fix")
    assert (repo / "bad.txt").exists()
    git(repo, "push", "-q", "origin", "main")
    assert git(pushing, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


def test_pre_push_legacy_hook_gets_the_same_stdin(repo: Path, pushing: Path, tmp_path: Path) -> None:
    seen = tmp_path / "legacy-stdin"
    foreign_hook(repo / ".git" / "hooks" / "pre-push", f'cat > "{seen}"')
    hooks.install(Project.open(repo))
    write(repo / "bad.txt", "x\n")
    git(repo, "add", "bad.txt")
    git(repo, "commit", "-q", "-m", "bad")
    git(repo, "push", "-q", "origin", "main", check=False)
    head = git(repo, "rev-parse", "HEAD")
    assert seen.read_text().split()[:2] == ["refs/heads/main", head]
    assert git(pushing, "for-each-ref") == ""  # and ours read it too, and refused


def test_pre_push_skips_deletions_and_repeats(repo: Path, pushing: Path) -> None:
    zero = "0" * 40
    head = git(repo, "rev-parse", "HEAD")
    stdin = (f"refs/heads/main {head} refs/heads/main {zero}\n"
             f"refs/tags/v1 {head} refs/tags/v1 {zero}\n"
             f"(delete) {zero} refs/heads/old {head}\n").encode()
    assert hooks.pushed_commits(stdin) == [head]
    assert hooks.run_hook(Project.open(repo), "pre-push", ["origin", "url"],
                          f"(delete) {zero} refs/heads/old {head}\n".encode()) == []
    [result] = hooks.run_hook(Project.open(repo), "pre-push", ["origin", "url"], stdin)
    assert result.ok


def test_pre_push_export_does_not_run_filters(repo: Path, pushing: Path, tmp_path: Path) -> None:
    ran = tmp_path / "smudge-ran"
    git(repo, "config", "filter.evil.smudge", f"touch {ran}; cat")
    git(repo, "config", "filter.evil.clean", "cat")
    write(repo / ".git" / "info" / "attributes", "*.txt filter=evil\n")
    write(repo / "a.txt", "a\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "a")
    ran.unlink(missing_ok=True)
    head = git(repo, "rev-parse", "HEAD")
    [result] = hooks.run_hook(Project.open(repo), "pre-push", [], f"main {head} main {'0' * 40}\n".encode())
    assert result.ok
    assert not ran.exists()


def test_hook_run_unknown_hook_exits_2(repo: Path) -> None:
    done = uet(repo, "hook-run", "post-merge")
    assert done.returncode == 2 and "post-merge" in done.stderr


def python_wrapper(path: Path, *options: str) -> Path:
    """An executable at `path` that runs this test's interpreter (a script, not a symlink: a
    venv's python symlinked elsewhere loses its venv). With `-S` it is a Python without the
    tool's dependencies, like a venv recreated without it."""
    flags = "".join(f" {shlex.quote(o)}" for o in options)
    write(path, f"#!/bin/sh\nexec {shlex.quote(sys.executable)}{flags} \"$@\"\n")
    path.chmod(0o755)
    return path


def commit_with_shim(repo: Path, install_python: str, python3: Path) -> subprocess.CompletedProcess[str]:
    """`git commit` of a file the gate refuses, with the shim's install Python replaced by
    `install_python` and PATH holding `python3` (and the system's folders, no git-uet)."""
    hooks.install(Project.open(repo))
    path = repo / ".git" / "hooks" / "pre-commit"
    path.write_text(path.read_text().replace(shlex.quote(sys.executable), shlex.quote(install_python)))
    env = {**os.environ, "PATH": f"{python3.parent}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    write(repo / "bad.txt", "x\n")
    git(repo, "add", "bad.txt")
    return subprocess.run(["git", "commit", "-q", "-m", "bad"], cwd=repo, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("install_python", ["gone", "recreated"])
def test_hook_shim_falls_back_when_the_install_python_is_gone(repo: Path, install_python: str) -> None:
    # The venv deleted, or recreated without gitflow_uet: a python3 on PATH that has the
    # package runs the gates.
    recreated = python_wrapper(repo.parent / "venv" / "python", "-S")
    python3 = python_wrapper(repo.parent / "bin" / "python3")
    done = commit_with_shim(repo, "/nonexistent/python" if install_python == "gone" else str(recreated), python3)
    assert done.returncode != 0 and "no-bad" in done.stderr, done.stderr


@pytest.mark.parametrize("install_python", ["gone", "recreated"])
def test_hook_shim_without_a_python_that_has_the_tool_says_so_and_refuses(repo: Path, install_python: str) -> None:
    # The venv deleted, or recreated without gitflow_uet, and the python3 on PATH lacks its
    # dependencies: the commit is refused with one line saying why and what to do.
    recreated = python_wrapper(repo.parent / "venv" / "python", "-S")
    python3 = python_wrapper(repo.parent / "bin" / "python3", "-S")
    done = commit_with_shim(repo, "/nonexistent/python" if install_python == "gone" else str(recreated), python3)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "cannot start git uet" in done.stderr and "git uet hooks install" in done.stderr
