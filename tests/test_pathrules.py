"""Path components git treats as `.git` (or as its special dotfiles) on some platform, as
git's own is_ntfs_dotgit / is_ntfs_dot_generic (path.c) and is_hfs_dot_generic (utf8.c)
decide; control characters shown escaped (issue 8 items 3 and 7)."""

from __future__ import annotations

import pytest

from gitflow_uet.workstream.pathrules import is_dotgit, path_reasons, policy_name, shown, special_name


@pytest.mark.parametrize(("component", "expected"), [
    (".git", True), (".GIT", True), (".Git", True),
    (".git.", True), (".git ", True), (".git . .", True),       # NTFS drops trailing dots/spaces
    ("git~1", True), ("GIT~1", True), ("git~1.", True),          # the 8.3 short name
    (".git::$INDEX_ALLOCATION", True), (".git:stream", True),     # alternate data streams
    (".g\u200cit", True), ("\ufeff.git", True), (".gi\u200et", True),  # HFS+ ignores these
    (".gitx", False), (".gi", False), ("git", False), ("git~2", False), ("x.git", False),
    (".git\u200c.", False),  # no single platform reads this as .git
])
def test_is_dotgit(component: str, expected: bool) -> None:
    assert is_dotgit(component) is expected


@pytest.mark.parametrize(("component", "expected"), [
    (".gitmodules", ".gitmodules"), ("GITMOD~1", ".gitmodules"), ("gitmod~4", ".gitmodules"),
    ("GI7EBA~1", ".gitmodules"), ("gi7eb~12", ".gitmodules"), (".gitmodules .", ".gitmodules"),
    (".git\u200cmodules", ".gitmodules"), (".GitAttributes.", ".gitattributes"), ("gi7d29~1", ".gitattributes"),
    ("gi250a~1", ".gitignore"), (".mailmap:x", ".mailmap"),
    ("gitmod~5", None), (".gitmodulesx", None), ("gi7ebb~1", None), ("README.md", None),
])
def test_special_name(component: str, expected: str | None) -> None:
    assert special_name(component) == expected


def test_policy_name_and_reasons() -> None:
    assert policy_name("sub/GITMOD~1") == "sub/.gitmodules"
    assert path_reasons(".git./config") == ["protected: .git./config (git reads it as .git)"]
    assert path_reasons("a\\.git\\config") == ["protected: a\\.git\\config"]  # a backslash separates
    assert path_reasons(".git/config") == ["protected: .git/config"]
    assert path_reasons(".UET./config.yaml") == ["protected: .UET./config.yaml (the same as .uet/ on some platforms)"]
    assert path_reasons("src/.uet/x") == []  # only the root's .uet/ is the tool's
    assert path_reasons("docs/a.md") == []
    assert path_reasons("a\x7fb") == ['control characters: "a\\x7fb"']
    assert path_reasons("a\x7fb", allow_control=True) == []


@pytest.mark.parametrize(("path", "expected"), [
    ("plain/path.py", "plain/path.py"),
    ("docs\nl.txt", '"docs\\nl.txt"'),
    ("src/e\x1b[31mred.py", '"src/e\\x1b[31mred.py"'),
    ('a"b\\\t', '"a\\"b\\\\\\t"'),
    ("rtl\u202eexe.txt", '"rtl\\u202eexe.txt"'),
    ("caf\u00e9.txt", "caf\u00e9.txt"),  # printable non-ASCII stays readable
])
def test_shown_never_prints_control_characters(path: str, expected: str) -> None:
    assert shown(path) == expected
    assert "\x1b" not in shown(path) and "\n" not in shown(path)
