"""The shortcuts the ledger benchmark relies on give the same answers as the long way:
tree splicing against `git mktree`, the `--json` fast path against typer."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from gitflow_uet.cli import _json_read
from gitflow_uet.git import MODE_BLOB, MODE_EXEC, MODE_TREE, Repo, TreeEntry
from gitflow_uet.ledger.store import Blob, Change, Ledger
from tests.helpers import git, make_repo, uet, write_spec

NAMES = ["a", "a-b", "a.b", "a0", "ab", "b", "a_", "é", "Z", "a b", "x" * 30, "0", "-"]


def mktree(repo: Path, entries: list[TreeEntry]) -> str:
    listing = "".join(f"{e.mode:06o} {'tree' if e.is_tree else 'blob'} {e.sha}\t{e.name}\n" for e in entries)
    return subprocess.run(["git", "mktree"], cwd=repo, input=listing, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_edit_tree_writes_what_git_mktree_writes(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", uet=False)
    repo = Repo.discover(root)
    rnd = random.Random(7)
    blobs = [repo.write_blob(b"%d\n" % i) for i in range(8)]
    subtrees = [repo.write_tree([]), repo.write_tree([TreeEntry(MODE_BLOB, "f", blobs[0])])]

    def entry(name: str) -> TreeEntry:
        if rnd.random() < 0.4:  # names whose order changes when they become trees ("a/" vs "a-b")
            return TreeEntry(MODE_TREE, name, rnd.choice(subtrees))
        return TreeEntry(rnd.choice([MODE_BLOB, MODE_EXEC]), name, rnd.choice(blobs))

    for _ in range(40):
        tree: str | None = None
        expected: dict[str, TreeEntry] = {}
        for _ in range(5):
            put = [entry(n) for n in rnd.sample(NAMES, rnd.randint(0, 4))]
            remove = rnd.sample(NAMES, rnd.randint(0, 3))
            for name in remove:
                expected.pop(name, None)
            expected.update({e.name: e for e in put})
            tree = repo.edit_tree(tree, put, remove)
            assert tree == mktree(root, list(expected.values()))
            # What this process remembers of the tree is what a fresh reader parses.
            assert Repo.discover(root).read_tree(tree) == repo.read_tree(tree)
            assert all(repo.tree_entry(tree, n) == expected.get(n) for n in NAMES)
    assert git(root, "fsck", "--strict", "--no-dangling") == ""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo")
    write_spec(root, "ws-3", title="Never started", tasks=[{"id": "t", "run": "true"}])
    ledger = Ledger(Repo.discover(root))
    ledger.append(Change("workstream", "ws-1", "planned", "plan", {"title": "Grüße"}))
    ledger.append(Change("workstream", "ws-2", "planned", "plan", {"title": "Two"}))
    ledger.append(Change("workstream", "ws-1", "running", "start", {"log": Blob(b"started\n")}))
    return root


@pytest.mark.parametrize("args", [
    ["status", "--json"], ["log", "--json"], ["log", "ws-1", "--json"], ["log", "-n", "1", "--json"],
    ["log", "--json", "--limit=2", "ws-1"], ["show", "ws-1", "--json"], ["show", "ws-3", "--json"],
])
def test_json_fast_path_prints_what_the_typer_command_prints(project: Path, args: list[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from gitflow_uet.cli import app

    assert _json_read(args) is not None
    fast = uet(project, *args)
    monkeypatch.chdir(project)
    slow = CliRunner().invoke(app, args)
    assert fast.returncode == slow.exit_code == 0, fast.stderr
    assert json.loads(fast.stdout) == json.loads(slow.stdout)


def test_json_fast_path_errors_like_the_typer_path(project: Path) -> None:
    done = uet(project, "show", "nope", "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("git uet: unknown workstream or patch 'nope'")


@pytest.mark.parametrize("args, read", [
    (["status", "--json"], ("status", None, None)),
    (["log", "-n", "3", "ws-1", "--json"], ("log", "ws-1", 3)),
    (["log", "--json", "--limit", "0"], ("log", None, 0)),
    (["show", "--json", "p-1"], ("show", "p-1", None)),
    (["status"], None), (["--json"], None), ([], None), (["status", "--json", "--json"], None),
    (["status", "--help", "--json"], None), (["log", "-n", "x", "--json"], None), (["log", "-n5", "--json"], None),
    (["log", "a", "b", "--json"], None), (["show", "--json"], None), (["show", "-x", "--json"], None),
    (["plan", "--json"], None),
])
def test_only_plain_json_reads_skip_typer(args: list[str], read: tuple[str, str | None, int | None] | None) -> None:
    assert _json_read(args) == read
