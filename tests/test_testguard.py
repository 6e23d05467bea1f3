"""What counts as an assertion, and which .gitignore lines un-ignore secrets (issue 8
items 4 and 6); the end-to-end cases are in test_hostile_patches.py."""

from __future__ import annotations

import pytest

from gitflow_uet.workstream.protect import unignored_secret
from gitflow_uet.workstream.testguard import is_assertion


@pytest.mark.parametrize(("line", "expected"), [
    ("    assert x == 1", True), ("assert 0", True), ("assert (", True),  # the first line of a longer one
    ("self.assertEqual(a, b)", True), ("self.assertRaises(E, f)", True), ("self.fail('no')", True),
    ("with pytest.raises(ValueError):", True), ("pytest.raises(E, f)", True),
    ("assert True", False), ("assert True, 'always'", False), ("assert(1)", False), ("assert 'x'", False),
    ("self.assertTrue(True)", False), ("self.assertFalse(0)", False),
    ("assertion = 1", False), ("x = 1", False), ("# assert x", False),
])
def test_is_assertion(line: str, expected: bool) -> None:
    assert is_assertion(line) is expected


@pytest.mark.parametrize(("line", "exposed"), [
    ("!.env", ".env"), ("!/.env", ".env"), ("!config/.env", ".env"), ("!.env.*", ".env.local"),
    ("!*", ".env"), ("!*.pem", "private.pem"), ("!id_rsa", "id_rsa"), ("  !.ENV  ", ".env"),
    ("!keep.log", None), (".env", None), ("# !.env", None), ("!docs/", None),
])
def test_gitignore_negations_that_expose_secrets(line: str, exposed: str | None) -> None:
    assert unignored_secret(line) == exposed
