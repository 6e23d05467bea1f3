"""Protected tests: a patch may not delete a test file, or take out more assertions than
it puts in, unless its spec says so (`allow: [delete_tests]`, `allow: [weaken_tests]`).

Which files are tests is `patch_policy.protect_tests` (globs; a name without a slash
matches in any folder). An assertion is a line starting with `assert`, `self.assert…(`,
`self.fail(` or `pytest.raises(` (also after `with`); one that can never fail
(`assert True`, `self.assertTrue(1)`) does not count. A renamed test file that no longer
matches the globs counts as deleted.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from unidiff import PatchSet

from gitflow_uet.spec import scope as scopes
from gitflow_uet.git.diffs import RawChange
from gitflow_uet.workstream.pathrules import shown

_ASSERTION = re.compile(r"^(?:assert\b|self\.assert\w*\s*\(|self\.fail\s*\(|(?:with\s+)?pytest\.raises\s*\()")


def is_assertion(line: str) -> bool:
    text = line.strip()
    if not _ASSERTION.match(text):
        return False
    return not _always_true(text)


def _always_true(text: str) -> bool:
    try:
        tree = ast.parse(text.removesuffix(":"))
    except SyntaxError:
        return False  # the first line of a longer statement: it asserts something
    if len(tree.body) != 1:
        return False
    node = tree.body[0]
    if isinstance(node, ast.Assert):
        return _constant_truthy(node.test)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        call = node.value
        name = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        if name in ("assertTrue", "assert_") and call.args:
            return _constant_truthy(call.args[0])
        if name == "assertFalse" and call.args:
            return isinstance(call.args[0], ast.Constant) and not call.args[0].value
    return False


def _constant_truthy(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value)


def weakening_reasons(changes: Sequence[RawChange], parsed: PatchSet, globs: Sequence[str],
                 allow: Sequence[str]) -> list[str]:
    if not globs:
        return []
    reasons = []
    deleted = set()
    for change in changes:
        gone = change.status == "D" or (change.status == "R" and not scopes.matches_any_case(change.new_path, globs))
        if gone and scopes.matches_any_case(change.old_path, globs):
            deleted.add(change.old_path)
            if "delete_tests" not in allow:
                reasons.append(f"tests deleted: {shown(change.old_path)} (a spec with allow: [delete_tests] may)")
    if "weaken_tests" in allow:
        return reasons
    for patched in parsed:
        path = patched.path
        if path in deleted or not scopes.matches_any_case(path, globs):
            continue
        removed = sum(1 for hunk in patched for line in hunk if line.is_removed and is_assertion(line.value))
        added = sum(1 for hunk in patched for line in hunk if line.is_added and is_assertion(line.value))
        if removed > added:
            reasons.append(f"tests weakened: {shown(path)} ({removed} assertions removed, {added} added; "
                           "a spec with allow: [weaken_tests] may)")
    return reasons
