from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from gitflow_uet.spec.config import PatchPolicy
from gitflow_uet.git import Repo
from gitflow_uet.git.diffs import diff_text
from gitflow_uet.ledger.store import Blob, Change, Ledger
from gitflow_uet.workstream.patchcheck import MAX_DIFF_BYTES, CommittedDiff, PatchReport, check_patch, recent_committed_diffs
from gitflow_uet.workstream.secrets import digest
from tests.helpers import git, make_repo, write

AWS_KEY = "AKIA" + "Q3EXAMPLE7KEY2ZZ"  # split so this file itself does not look like a leak
GH_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PASSWORD = "hunter2-but-much-longer"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"README.md": "hello\n", "src/app.py": "x = 1\n", "docs/a.md": "doc\n"})


def commit(root: Path, files: dict[str, str | bytes | None] | None = None, *, setup=None,
           add_all: bool = True) -> tuple[str, str]:
    """Commit `files` (None deletes) on top of HEAD; (base, head)."""
    base = git(root, "rev-parse", "HEAD")
    for name, content in (files or {}).items():
        path = root / name
        if content is None:
            path.unlink()
        elif isinstance(content, bytes):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        else:
            write(path, content)
    if setup:
        setup(root)
    if add_all:
        git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", "change")
    return base, git(root, "rev-parse", "HEAD")


def check(root: Path, base: str, head: str, *, text_only: bool = False, scope: list[str] | None = None,
          policy: PatchPolicy | None = None, recent: list[CommittedDiff] | None = None,
          diff: bytes | None = None) -> PatchReport:
    repo = Repo.discover(root)
    text = diff if diff is not None else diff_text(repo, base, head)
    return check_patch(repo, base=base, head=None if text_only else head, diff=text, scope=scope,
                       policy=policy or PatchPolicy(), recent_committed_diffs=recent or [])


@pytest.mark.parametrize("text_only", [False, True])
def test_clean_patch_passes_with_files_and_line_count(root: Path, text_only: bool) -> None:
    base, head = commit(root, {"src/app.py": "x = 2\ny = 3\n", "src/new.py": "z = 1\n"})
    report = check(root, base, head, text_only=text_only, scope=["src/**"])
    assert report.ok, report.reasons
    assert report.files == ["src/app.py", "src/new.py"]
    assert report.lines == 4  # 1 removed + 2 added + 1 added
    assert not list((Repo.discover(root).uet_dir).glob("tmp-index-*"))


@pytest.mark.parametrize("text_only", [False, True])
def test_path_outside_scope_is_refused(root: Path, text_only: bool) -> None:
    base, head = commit(root, {"src/app.py": "x = 2\n", "docs/a.md": "changed\n"})
    report = check(root, base, head, text_only=text_only, scope=["src/**"])
    assert not report.ok
    assert report.reasons == ["scope: docs/a.md"]


def test_forbidden_names_are_refused_at_any_depth_unless_policy_allows(root: Path) -> None:
    base, head = commit(root, {".gitattributes": "* filter=x\n", "src/.gitattributes": "*.py diff=x\n",
                               "src/lib/.gitmodules": "", "src/app.py": "x = 2\n"})
    report = check(root, base, head)
    assert sorted(report.reasons) == ["forbidden: .gitattributes", "forbidden: src/.gitattributes",
                                      "forbidden: src/lib/.gitmodules"]
    assert check(root, base, head, policy=PatchPolicy(forbid=[])).ok


def test_uet_config_is_protected(root: Path) -> None:
    base, head = commit(root, {".uet/config.yaml": "schema_version: 1\npatch_policy: {max_files: 9999}\n"})
    assert check(root, base, head).reasons == ["protected: .uet/config.yaml"]


def test_git_dir_paths_are_refused_from_a_tree_or_from_text(root: Path) -> None:
    # git itself will not commit a `.git` path, but a hand-built tree can hold one.
    gitdir = _mktree(root, f"100644 blob {_blob(root, b'[core]')}\tconfig\n")
    vendor = _mktree(root, f"040000 tree {gitdir}\t.git\n")
    tree = _mktree(root, git(root, "ls-tree", "HEAD") + f"\n040000 tree {gitdir}\t.git\n040000 tree {vendor}\tvendor\n")
    base = git(root, "rev-parse", "HEAD")
    head = git(root, "commit-tree", tree, "-p", base, "-m", "evil")
    report = check(root, base, head)
    assert "protected: .git/config" in report.reasons
    assert "protected: vendor/.git/config" in report.reasons
    text = (b"diff --git a/.git/hooks/post-checkout b/.git/hooks/post-checkout\nnew file mode 100755\n"
            b"--- /dev/null\n+++ b/.git/hooks/post-checkout\n@@ -0,0 +1 @@\n+rm -rf ~\n")
    refused = check(root, base, base, text_only=True, diff=text)
    assert not refused.ok and refused.reasons[0].startswith("malformed: git apply")


def test_rename_is_judged_at_both_ends(root: Path) -> None:
    base, head = commit(root, setup=lambda r: git(r, "mv", "src/app.py", "src/.gitattributes"))
    assert check(root, base, head).reasons == ["forbidden: src/.gitattributes"]
    base, head = commit(root, setup=lambda r: git(r, "mv", "docs/a.md", "src/a.md"))
    report = check(root, base, head, scope=["src/**"])
    assert report.reasons == ["scope: docs/a.md"]  # moving a file out of docs/ touches docs/
    assert report.files == ["docs/a.md", "src/a.md"]
    base, head = commit(root, setup=lambda r: git(r, "mv", "src/a.md", "docs/b.md"))
    assert check(root, base, head, scope=["src/**"], text_only=True).reasons == ["scope: docs/b.md"]


def test_symlinks_refused_and_escaping_ones_flagged_even_when_allowed(root: Path) -> None:
    base, head = commit(root, setup=lambda r: os.symlink("app.py", r / "src" / "link"))
    assert check(root, base, head).reasons == ["symlink: src/link"]
    assert check(root, base, head, policy=PatchPolicy(allow_symlinks=True)).ok
    base, head = commit(root, setup=lambda r: os.symlink("../../etc/passwd", r / "src" / "out"))
    allowed = PatchPolicy(allow_symlinks=True)
    assert check(root, base, head, policy=allowed).reasons == ["symlink outside the repository: src/out"]
    assert check(root, base, head, policy=allowed, text_only=True).reasons == [
        "symlink outside the repository: src/out"]
    base, head = commit(root, setup=lambda r: os.symlink("/etc/shadow", r / "abs"))
    assert check(root, base, head, policy=allowed).reasons == ["symlink outside the repository: abs"]


def test_submodule_refused_unless_allowed(root: Path) -> None:
    sha = git(root, "rev-parse", "HEAD")
    base, head = commit(root, setup=lambda r: git(r, "update-index", "--add", "--cacheinfo", f"160000,{sha},sub"),
                        add_all=False)
    assert git(root, "ls-tree", "HEAD", "sub").startswith("160000 commit")
    assert check(root, base, head).reasons == ["submodule: sub"]
    assert check(root, base, head, text_only=True).reasons == ["submodule: sub"]
    assert check(root, base, head, policy=PatchPolicy(allow_submodules=True)).ok


@pytest.mark.parametrize("text_only", [False, True])
def test_binary_refused_unless_allowed(root: Path, text_only: bool) -> None:
    base, head = commit(root, {"src/blob.bin": bytes(range(256)) * 4})
    assert check(root, base, head, text_only=text_only).reasons == ["binary: src/blob.bin"]
    assert check(root, base, head, text_only=text_only, policy=PatchPolicy(allow_binary=True)).ok


def test_secrets_in_added_lines_are_named_never_quoted(root: Path) -> None:
    key_block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
    base, head = commit(root, {
        "src/app.py": f"x = 1\naws = '{AWS_KEY}'\ngh = '{GH_TOKEN}'\ndb_password = \"{PASSWORD}\"\n",
        "src/id_rsa.txt": key_block,
    })
    report = check(root, base, head)
    assert report.reasons == [
        f"secret: aws-access-key, src/app.py:2, {digest(AWS_KEY)}",
        f"secret: github-token, src/app.py:3, {digest(GH_TOKEN)}",
        f"secret: secret-keyword, src/app.py:4, {digest(PASSWORD)}",
        f"secret: private-key, src/id_rsa.txt:1, {digest('BEGIN RSA PRIVATE KEY')}",
    ]
    for value in (AWS_KEY, GH_TOKEN, PASSWORD, "MIIEowIBAAKCAQEA"):
        assert all(value not in reason for reason in report.reasons)
    # Removing a secret is welcome: only added lines are scanned.
    base, head = commit(root, {"src/app.py": "x = 1\n"})
    assert check(root, base, head).ok


def test_empty_diff_is_refused(root: Path) -> None:
    base, head = commit(root)  # an empty commit
    assert check(root, base, head).reasons == ["empty: the workstream changed nothing"]
    assert check(root, base, base, text_only=True, diff=b"").reasons == ["empty: the workstream changed nothing"]


def test_oversized_diff_is_refused_before_parsing(root: Path) -> None:
    base = git(root, "rev-parse", "HEAD")
    huge = b"+" * (MAX_DIFF_BYTES + 1)
    report = check(root, base, base, text_only=True, diff=huge)
    assert not report.ok and report.reasons[0].startswith("oversized:")


def test_malformed_text_is_a_clean_rejection(root: Path) -> None:
    base = git(root, "rev-parse", "HEAD")
    noise = random.Random(7).randbytes(4096)
    truncated = b"diff --git a/src/app.py b/src/app.py\n--- a/src/app.py\n+++ b/src/app.py\n@@ -1,3 +1,3 @@\n-x = 1\n"
    disagree = (b"diff --git a/src/app.py b/src/ok.py\nsimilarity index 100%\n"
                b"rename from src/app.py\nrename to src/.gitattributes\n")
    not_applying = b"--- a/src/app.py\n+++ b/src/app.py\n@@ -1 +1 @@\n-y = 7\n+y = 8\n"
    for text in (noise, truncated, disagree, not_applying, b"just some words\n"):
        report = check(root, base, base, text_only=True, diff=text)
        assert not report.ok
        assert report.reasons[0].startswith(("malformed:", "headers disagree with git:")), report.reasons
    assert "headers disagree with git: src/ok.py" in check(root, base, base, text_only=True, diff=disagree).reasons
    good = b"--- a/src/app.py\n+++ b/src/app.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    assert check(root, base, base, text_only=True, diff=good).ok
    assert not list(Repo.discover(root).uet_dir.glob("tmp-index-*"))


def test_file_and_line_limits(root: Path) -> None:
    base, head = commit(root, {"src/a.py": "1\n2\n3\n", "src/b.py": "4\n"})
    report = check(root, base, head, policy=PatchPolicy(max_files=1, max_lines=3))
    assert report.reasons == ["max_files: 2 files (limit 1)", "max_lines: 4 lines added + removed (limit 3)"]
    assert check(root, base, head, policy=PatchPolicy(max_files=2, max_lines=4)).ok


def test_exact_reverse_of_a_landed_hunk_is_oscillation(root: Path) -> None:
    repo = Repo.discover(root)
    a_base, a_head = commit(root, {"src/app.py": "x = 1\nfeature = True\n"})
    landed = CommittedDiff("01LANDEDPATCHA", diff_text(repo, a_base, a_head))
    b_base, b_head = commit(root, {"src/app.py": "x = 1\n"})
    report = check(root, b_base, b_head, recent=[landed])
    assert report.reasons == ["oscillation: src/app.py reverses patch 01LANDEDPATCHA"]
    # Not the reverse: a different edit of the same line passes.
    c_base, c_head = commit(root, {"src/app.py": "x = 1\nfeature = False\n"})
    assert check(root, c_base, c_head, recent=[landed]).ok


def test_recent_committed_diffs_reads_newest_committed_patches(root: Path) -> None:
    ledger = Ledger(Repo.discover(root))
    path = ["created", "validated", "queued", "applied", "verified", "committed"]
    for i, pid in enumerate(["01AAAAAAAAAAAAAAAAAAAAAAA1", "01AAAAAAAAAAAAAAAAAAAAAAA2", "01AAAAAAAAAAAAAAAAAAAAAAA3"]):
        ledger.append(Change("patch", pid, "created", "submit", {"diff": Blob(f"diff {i}\n".encode())}))
        for state in path[1:] if i != 1 else path[1:3]:  # the second one never lands
            ledger.append(Change("patch", pid, state, "test"))
    found = recent_committed_diffs(ledger.state(), n=5)
    assert found == [CommittedDiff("01AAAAAAAAAAAAAAAAAAAAAAA3", b"diff 2\n"),
                     CommittedDiff("01AAAAAAAAAAAAAAAAAAAAAAA1", b"diff 0\n")]
    assert recent_committed_diffs(ledger.state(), n=1) == found[:1]


def _blob(root: Path, data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=root, input=data,
                          capture_output=True, check=True).stdout.decode().strip()


def _mktree(root: Path, listing: str) -> str:
    return subprocess.run(["git", "mktree"], cwd=root, input=listing.encode(),
                          capture_output=True, check=True).stdout.decode().strip()
