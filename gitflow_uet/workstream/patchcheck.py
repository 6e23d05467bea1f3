"""The checks a patch must pass before it is queued (DESIGN.md, "Validation of a patch").

Paths and modes are judged on what git itself makes of the change (`git diff-tree`
between two trees; for bare diff text, the tree `git apply --cached` builds from it on a
throwaway index), because unidiff and git do not always read a diff's headers alike.
unidiff supplies what git does not: added lines to scan for credentials and hunks to
compare against recently landed ones. A diff whose headers name other paths than git
finds is refused outright.

Every reason is one line, `rule: path[:line]`, and never quotes the diff's content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

from unidiff import PatchSet

from gitflow_uet.workstream import difftext, pathrules, protect, secrets, testguard
from gitflow_uet.spec import scope as scopes
from gitflow_uet.spec.config import PatchPolicy
from gitflow_uet.git import MODE_GITLINK, MODE_LINK, Repo
from gitflow_uet.git.diffs import (NumStat, PatchDoesNotApply, RawChange, blob_sizes, diff_tree, numstat,
                                   tree_from_patch)
from gitflow_uet.ledger.store import KIND_DIRS, State

# Parsing is linear but not cheap; a diff past this size is refused before it is read.
MAX_DIFF_BYTES = 20 * 1024 * 1024
RECENT_PATCHES = 20
# A hostile diff could produce one reason per line; the record keeps a readable number.
MAX_REASONS = 100
EMPTY = "empty: the workstream changed nothing"


@dataclass
class PatchReport:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # both ends of a rename
    lines: int = 0  # added + removed


class CommittedDiff(NamedTuple):
    """The stored diff of a patch that landed, for the oscillation check."""

    patch_id: str
    diff: bytes


def check_patch(
    repo: Repo,
    *,
    base: str,
    head: str | None,
    diff: bytes,
    scope: list[str] | None,
    policy: PatchPolicy,
    recent_committed_diffs: Sequence[CommittedDiff | bytes] = (),
    protected: Sequence[str] = (),
    gate_commands: Sequence[str] = (),
    allow: Sequence[str] = (),
) -> PatchReport:
    """Judge `diff`, taken from `base` to `head` (or, with no head, bare text meant to
    apply on `base`). Never raises on bad input: a diff git or unidiff cannot read is a
    rejection like any other.

    `protected` (the config's `protect` list) and the files `gate_commands` name may be
    touched only where `scope` names them explicitly; `allow` holds the spec's
    permissions (`delete_tests`, `weaken_tests`)."""
    if len(diff) > MAX_DIFF_BYTES:
        return _refused(f"oversized: the diff is {len(diff)} bytes (limit {MAX_DIFF_BYTES})")
    if not diff.strip():
        return _refused(EMPTY)
    parsed = _parse(diff)
    if isinstance(parsed, str):
        return _refused(parsed)
    # Refused whole, before git reads it: git would drop or re-apply parts of it silently.
    corrupt = difftext.hunk_reasons(diff.decode("utf-8", "surrogateescape")) + difftext.repeated_files(
        _section_paths(parsed))
    if corrupt:
        return _cap(corrupt)
    if head is None and (found := _secret_rules(parsed)):
        # `git apply --cached` below would hash the credential into the object store.
        return _cap(found)
    try:
        target = head if head is not None else tree_from_patch(repo, base, diff)
    except PatchDoesNotApply as exc:
        return _refused(f"malformed: {exc}")
    changes = diff_tree(repo, base, target)
    if not changes:
        return _refused(EMPTY)
    stats = {s.path: s for s in numstat(repo, base, target)}
    files = sorted({p for c in changes for p in c.paths})
    lines = sum((s.added or 0) + (s.removed or 0) for s in stats.values())

    reasons = [f"headers disagree with git: {pathrules.shown(p)}" for p in sorted(set(files) ^ _header_paths(parsed))]
    sizes = blob_sizes(repo, [c.new_sha for c in changes if c.status != "D" and c.new_mode not in (MODE_LINK, MODE_GITLINK)
                              and stats.get(c.new_path, _TEXT).binary])
    for change in changes:
        reasons += _path_rules(change, scope, policy)
        reasons += _content_rules(repo, change, stats, policy, sizes)
    reasons += protect.protected_reasons(changes, scope, protected, protect.gate_files(repo, base, gate_commands))
    reasons += protect.gitignore_reasons(repo, changes, scope)
    reasons += testguard.weakening_reasons(changes, parsed, policy.protect_tests, allow)
    if len(files) > policy.max_files:
        reasons.append(f"max_files: {len(files)} files (limit {policy.max_files})")
    if lines > policy.max_lines:
        reasons.append(f"max_lines: {lines} lines added + removed (limit {policy.max_lines})")
    reasons += _secret_rules(parsed)
    reasons += _oscillation_rules(parsed, recent_committed_diffs)
    return PatchReport(not reasons, _cap(reasons).reasons, files, lines)


def recent_committed_diffs(state: State, n: int = RECENT_PATCHES) -> list[CommittedDiff]:
    """The diffs of the `n` newest committed patches (by ULID, newest first).

    Patch records are read newest first in small batches, so a long history costs one
    listing plus as many records as it takes to find `n` committed ones.
    """
    if state.tree is None:
        return []
    rows = [r for r in state.repo.ls_tree(f"{state.tree}:{KIND_DIRS['patch']}") if r[1] == "blob"]
    rows.sort(key=lambda r: r[3].rsplit("/", 1)[-1], reverse=True)
    found: list[CommittedDiff] = []
    for start in range(0, len(rows), 64):
        chunk = rows[start:start + 64]
        for data in state.repo.read_blobs([r[2] for r in chunk]):
            record = json.loads(data)
            stored = record.get("diff")
            if record.get("state") == "committed" and isinstance(stored, dict) and "blob" in stored:
                found.append(CommittedDiff(record["id"], state.blob(stored["blob"])))
                if len(found) >= n:
                    return found
    return found


# -- parsing ---------------------------------------------------------------------------------

def _refused(reason: str) -> PatchReport:
    return PatchReport(False, [reason])


def _cap(reasons: list[str]) -> PatchReport:
    if len(reasons) > MAX_REASONS:
        reasons = reasons[:MAX_REASONS] + [f"more: {len(reasons) - MAX_REASONS} further reasons not listed"]
    return PatchReport(not reasons, reasons)


def _parse(diff: bytes) -> PatchSet | str:
    """unidiff's PatchSet, or a `malformed:` reason. Any exception from the parser is a
    rejection: hostile input must not crash the tool."""
    try:
        parsed = PatchSet(diff.decode("utf-8", "surrogateescape"))
    except Exception as exc:  # noqa: BLE001 - the parser's failures are not ours to classify
        # unidiff's messages quote the offending line after a colon; only the kind is kept.
        kind = str(exc).split(":", 1)[0].strip()[:100] or type(exc).__name__
        return f"malformed: {kind}"
    if len(parsed) == 0:
        return "malformed: no file diff found in the text"
    return parsed


def _strip(name: str | None, prefix: str) -> str | None:
    if name is None or name == "/dev/null":
        return None
    name = _unquote(name) if name.startswith('"') else name
    return name[len(prefix):] if name.startswith(prefix) else name


_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12,
            ord("r"): 13, ord('"'): 34, ord("\\"): 92}


def _unquote(name: str) -> str:
    """git's C-style quoting of unusual path names (`"a/t\\tab"`, octal bytes)."""
    raw = name[1:-1].encode("utf-8", "surrogateescape") if name.endswith('"') else name[1:].encode()
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i] == 92 and i + 1 < len(raw):
            if raw[i + 1] in _ESCAPES:
                out.append(_ESCAPES[raw[i + 1]])
                i += 2
                continue
            octal = raw[i + 1:i + 4]
            if len(octal) == 3 and all(48 <= b <= 55 for b in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
        out.append(raw[i])
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _section_paths(parsed: PatchSet) -> list[set[str]]:
    """Per file section of the diff, the paths its headers name."""
    return [{name for name in (_strip(patched.source_file, "a/"), _strip(patched.target_file, "b/"))
             if name is not None} for patched in parsed]


def _header_paths(parsed: PatchSet) -> set[str]:
    return set().union(*_section_paths(parsed))


# -- rules -----------------------------------------------------------------------------------

def _path_rules(change: RawChange, scope: list[str] | None, policy: PatchPolicy) -> list[str]:
    reasons = []
    for path in change.paths:  # a rename is judged at both ends
        always = pathrules.path_reasons(path, allow_control=policy.allow_control_chars)
        reasons += always
        if not always and scopes.matches_any_case(pathrules.policy_name(path), policy.forbid):
            # A bare name like `.gitattributes` is forbidden at any depth (git reads nested
            # ones), and so are the names git takes for it on NTFS/HFS (`GI7D29~1`).
            reasons.append(f"forbidden: {pathrules.shown(path)}")
        if not scopes.matches(path, scope):
            reasons.append(f"scope: {pathrules.shown(path)}")
    return reasons


_TEXT = NumStat(0, 0, "")


def _content_rules(repo: Repo, change: RawChange, stats: dict[str, NumStat], policy: PatchPolicy,
                   sizes: dict[str, int]) -> list[str]:
    if change.status == "D":
        return []  # removing a binary, a link or a submodule adds nothing dangerous
    path, reasons = change.new_path, []
    if change.new_mode == MODE_LINK:
        if not policy.allow_symlinks:
            reasons.append(f"symlink: {pathrules.shown(path)}")
        target = repo.read_blob(change.new_sha).decode("utf-8", "surrogateescape")
        if _link_escapes(path, target):
            reasons.append(f"symlink outside the repository: {pathrules.shown(path)}")
    elif change.new_mode == MODE_GITLINK:
        if not policy.allow_submodules:
            reasons.append(f"submodule: {pathrules.shown(path)}")
    else:
        stat = stats.get(path)
        if stat is not None and stat.binary and not policy.allow_binary:
            reasons.append(f"binary: {pathrules.shown(path)}")
        elif stat is not None and stat.binary and sizes.get(change.new_sha, 0) > policy.max_binary_bytes:
            # Judged on the blob git made: a small binary literal in the diff can inflate
            # to any size.
            reasons.append(f"max_binary_bytes: {pathrules.shown(path)} is {sizes[change.new_sha]} bytes "
                           f"(limit {policy.max_binary_bytes})")
    return reasons


def _link_escapes(path: str, target: str) -> bool:
    """Whether a link at `path` pointing at `target` leaves the repository (or enters
    its `.git`), resolved lexically as the filesystem would from inside the work tree."""
    if target.startswith(("/", "\\", "~")) or (len(target) > 1 and target[0].isalpha() and target[1] == ":"):
        return True
    parts = path.split("/")[:-1]
    for segment in target.replace("\\", "/").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                return True
            parts.pop()
        else:
            parts.append(segment)
    return any(pathrules.is_dotgit(p) for p in parts)


def _secret_rules(parsed: PatchSet) -> list[str]:
    """`secret: rule, path:line, sha256:…` per credential in an added line (secrets.py)."""
    reasons = []
    for patched in parsed:
        path = _strip(patched.target_file, "b/") or _strip(patched.source_file, "a/") or "?"
        added = [(line.target_line_no or 0, line.value.rstrip("\n")) for hunk in patched for line in hunk
                 if line.is_added]
        reasons += [f"secret: {finding}" for finding in secrets.scan_lines(path, added)]
    return reasons


Hunks = dict[str, set[tuple[tuple[str, ...], tuple[str, ...]]]]


def _hunks(parsed: PatchSet, side: str) -> Hunks:
    """Per file, each hunk as (removed lines, added lines). A new patch is keyed by the
    file it changes (source side), a landed one by the file it produced (target side)."""
    out: Hunks = {}
    for patched in parsed:
        path = _strip(patched.source_file, "a/") if side == "source" else _strip(patched.target_file, "b/")
        if path is None:
            continue
        for hunk in patched:
            removed = tuple(ln.value.rstrip("\n") for ln in hunk if ln.is_removed)
            added = tuple(ln.value.rstrip("\n") for ln in hunk if ln.is_added)
            if removed or added:
                out.setdefault(path, set()).add((removed, added))
    return out


def _oscillation_rules(parsed: PatchSet, recent: Sequence[CommittedDiff | bytes]) -> list[str]:
    if not recent:
        return []
    mine = _hunks(parsed, "source")
    reasons: list[str] = []
    for item in recent:
        patch_id, text = (item.patch_id, item.diff) if isinstance(item, CommittedDiff) else ("(recent)", item)
        old = _parse(text)
        if isinstance(old, str):
            continue  # a landed diff that no longer parses cannot be compared
        for path, hunks in _hunks(old, "target").items():
            reversed_hunks = {(added, removed) for removed, added in hunks}
            if mine.get(path, set()) & reversed_hunks:
                reasons.append(f"oscillation: {pathrules.shown(path)} reverses patch {patch_id}")
    return reasons
