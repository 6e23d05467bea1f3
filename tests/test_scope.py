"""Scope, forbid, protect and protect_tests globs mean what the README says (issue 7 item 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitflow_uet.spec.scope import cone_dirs, matches, matches_any_case, names_explicitly
from tests.helpers import git, make_repo, uet, write, write_spec

# (pattern, path, matches)
TABLE = [
    ("src/[ab].py", "src/a.py", True),       # a class, not a literal `[`
    ("src/[ab].py", "src/c.py", False),
    ("src/[ab].py", "src/[ab].py", False),
    ("src/[!a].py", "src/b.py", True),
    ("src/\\[ab].py", "src/[ab].py", True),  # an escaped bracket is literal
    ("src/?.py", "src/a.py", True),
    ("src/?.py", "src/ab.py", False),
    ("src/*.py", "src/a.py", True),
    ("src/*.py", "src/x/a.py", False),       # `*` stays in one segment
    ("src/**", "src/x/y/a.py", True),        # `**` spans segments
    ("src/**/a.py", "src/a.py", True),
    ("src/**/a.py", "src/x/y/a.py", True),
    ("**/*.py", "a.py", True),
    ("**/*.py", "deep/er/a.py", True),
    ("**", ".github/workflows/ci.yml", True),  # dotfiles are not special
    ("*", ".env", True),
    ("src", "src/a.py", True),               # a plain name is a file or a whole folder
    ("src", "srcs/a.py", False),
    ("src/", "src/a.py", True),
    ("docs/a.md", "docs/a.md", True),
    ("docs/a.md", "docs/a.mdx", False),
    ("src/{a,b}.py", "src/a.py", False),     # no brace expansion
    ("SRC/**", "src/a.py", False),           # scope is case-sensitive
]


@pytest.mark.parametrize(("pattern", "path", "expected"), TABLE)
def test_glob_table(pattern: str, path: str, expected: bool) -> None:
    assert matches(path, [pattern]) is expected


def test_no_scope_means_anywhere_and_an_empty_one_nowhere() -> None:
    assert matches("x/y", None)
    assert not matches("x/y", [])


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    (".env", "config/.env", True),           # a name without a slash: in any folder
    (".env.*", "a/b/.env.local", True),
    (".env.*", ".ENV.LOCAL", True),          # policy lists ignore case
    (".github/workflows/**", ".GitHub/Workflows/ci.yml", True),
    (".github/workflows/**", "x/.github/workflows/ci.yml", False),
    ("test_*.py", "pkg/test_a.py", True),
    ("tests/**", "tests/unit/test_a.py", True),
])
def test_policy_list_table(pattern: str, path: str, expected: bool) -> None:
    assert matches_any_case(path, [pattern]) is expected


@pytest.mark.parametrize(("scope", "path", "protected", "expected"), [
    ("workstreams/**", "workstreams/a.yaml", "workstreams/**", True),
    ("workstreams", "workstreams/a.yaml", "workstreams/**", True),
    ("workstreams/a.yaml", "workstreams/a.yaml", "workstreams/**", True),
    ("**", "workstreams/a.yaml", "workstreams/**", False),
    ("w*/**", "workstreams/a.yaml", "workstreams/**", False),
    (".github/**", ".github/workflows/ci.yml", ".github/workflows/**", False),
    (".github/workflows/*.yml", ".github/workflows/ci.yml", ".github/workflows/**", True),
    (".github", ".github/workflows/ci.yml", ".github/workflows/**", True),
    ("*", ".env", ".env", False),
    (".env", ".env", ".env", True),
    ("config/*", "config/.env.local", ".env.*", False),
    ("config/.env.*", "config/.env.local", ".env.*", True),
    ("src/**", "workstreams/a.yaml", "workstreams/**", False),  # does not even match
])
def test_names_explicitly_table(scope: str, path: str, protected: str, expected: bool) -> None:
    assert names_explicitly(scope, path, protected) is expected


@pytest.mark.parametrize(("scope", "dirs"), [
    (["src/[ab].py"], ["src"]),
    (["src/a/**", "docs/x.md"], ["docs", "src/a"]),
    (["*.py"], []),
    (["**/*.py"], None),
    (["*/x.py"], None),
])
def test_cone_dirs_agree_with_matching(scope: list[str], dirs: list[str] | None) -> None:
    assert cone_dirs(scope) == dirs


def test_bracket_scope_lets_the_patch_land(tmp_path: Path) -> None:
    """`src/[ab].py` used to match nothing: the patch was refused for scope."""
    repo = make_repo(tmp_path / "repo", {"src/a.py": "a = 1\n"})
    write_spec(repo, "br", scope=["src/[ab].py"], tasks=[])
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "spec")
    started = uet(repo, "start", "br")
    assert started.returncode == 0, started.stderr
    write(repo / ".worktrees" / "br" / "src" / "a.py", "a = 2\n")
    submitted = uet(repo, "submit", "br")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    landed = uet(repo, "integrate")
    assert landed.returncode == 0, landed.stdout + landed.stderr
    assert git(repo, "show", "main:src/a.py") == "a = 2"
