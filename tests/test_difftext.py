"""Diff text is what its headers say (issue 8 items 1 and 2)."""

from __future__ import annotations

from gitflow_uet.workstream.difftext import hunk_reasons, repeated_files

HEAD = "diff --git a/f b/f\n--- a/f\n+++ b/f\n"


def test_exact_hunks_pass() -> None:
    text = HEAD + "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -10 +10,2 @@\n-x\n+y\n+z\n\\ No newline at end of file\n"
    assert hunk_reasons(text) == []
    assert hunk_reasons(HEAD + "@@ -1,2 +1,2 @@\n a\n\n") == []  # an empty line is empty context
    assert hunk_reasons(HEAD + "@@ -1 +1 @@\n-a\n+b\n\n\n") == []  # trailing blank lines


def test_longer_shorter_and_mismatched_hunks_are_named() -> None:
    assert hunk_reasons(HEAD + "@@ -1 +1 @@\n-a\n+b\n+extra\n") == [
        "corrupt hunk: f hunk 1 (@@ -1,1 +1,1 @@): longer than its header declares"]
    assert hunk_reasons(HEAD + "@@ -1,2 +1,2 @@\n a\n") == [
        "corrupt hunk: f hunk 1 (@@ -1,2 +1,2 @@): shorter than its header declares"]
    assert hunk_reasons(HEAD + "@@ -1 +1,2 @@\n-a\n-b\n+c\n") == [
        "corrupt hunk: f hunk 1 (@@ -1,1 +1,2 @@): its lines do not match its header"]
    # text after the last hunk would be skipped by git without a word
    assert hunk_reasons(HEAD + "@@ -1 +1 @@\n-a\n+b\nThis changes a to b.\n")[0].endswith("longer than its header declares")


def test_second_hunk_and_second_file_are_checked() -> None:
    text = (HEAD + "@@ -1 +1 @@\n-a\n+b\n@@ -5 +5 @@\n-c\n+d\n+e\n"
            + "diff --git a/g b/g\n--- a/g\n+++ b/g\n@@ -1 +1 @@\n-a\n+b\n")
    assert hunk_reasons(text) == ["corrupt hunk: f hunk 2 (@@ -5,1 +5,1 @@): longer than its header declares"]


def test_repeated_files() -> None:
    assert repeated_files([{"a"}, {"b"}]) == []
    assert repeated_files([{"a"}, {"a", "b"}, {"b"}]) == [
        "twice: a is patched by 2 sections of the diff", "twice: b is patched by 2 sections of the diff"]
