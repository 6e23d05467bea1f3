"""Protected paths: what a patch may touch only when its spec's scope names it explicitly.

They decide what counts as green or hold secrets: the specs folder (a spec's `gates:`
choose the gates its patch runs), CI configuration, `.env` files (`protect:` in the
config), the files the gate commands name (`python tools/check.py` protects
`tools/check.py`), and `.gitignore` lines that un-ignore secret files. A scope names a path
explicitly when an entry matches it without leaning on a wildcard to reach the protected
part (`scope.names_explicitly`): `.github/workflows/ci.yml` or `.github/workflows/**` do,
`.github/**` and `**` do not. No scope at all names nothing.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable, Sequence

from wcmatch import fnmatch

from gitflow_uet.spec import scope as scopes
from gitflow_uet.git import Repo
from gitflow_uet.git.diffs import RawChange
from gitflow_uet.workstream.pathrules import components, policy_name, shown

# What a `!pattern` in a .gitignore must not bring back into git's view.
SECRET_FILES = (".env", ".env.local", ".env.production", "id_rsa", "id_ed25519", "private.key", "private.pem")


def gate_files(repo: Repo, base: str, commands: Iterable[str]) -> list[str]:
    """The files in `base` that the gate commands name (`python tools/check.py`,
    `./check.sh`, `--config=ci/gate.toml`): a patch rewriting them rewrites the gate."""
    found: set[str] = set()
    for command in commands:
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        for word in words:
            for token in (word, word.split("=", 1)[-1]):
                token = token.removeprefix("./").strip("/")
                if not token or token.startswith(("-", "~", "$")) or ".." in token.split("/") or token == ".":
                    continue
                hit = repo.read_named(f"{base}:{token}")
                if hit is not None and hit[1] == "blob":
                    found.add(token)
    return sorted(found)


def protected_reasons(changes: Sequence[RawChange], scope: list[str] | None, protect: Sequence[str],
                      gates: Sequence[str]) -> list[str]:
    """A `protected:` reason for each touched path that `protect` or a gate file covers
    and the scope does not name explicitly."""
    reasons = []
    for path in sorted({p for change in changes for p in change.paths}):
        name = policy_name(path)
        entries = [e for e in protect if scopes.matches_any_case(name, [e])]
        entries += [g for g in gates if path == g]
        if not entries or _named(scope, path, entries):
            continue
        why = "a gate command runs it" if entries[0] in gates else f"protect: {entries[0]}"
        reasons.append(f"protected: {shown(path)} ({why}; only a spec whose scope names it may change it)")
    return reasons


def _named(scope: list[str] | None, path: str, entries: list[str]) -> bool:
    if scope is None:
        return False
    return all(any(scopes.names_explicitly(s, path, e) for s in scope) for e in entries)


def gitignore_reasons(repo: Repo, changes: Sequence[RawChange], scope: list[str] | None) -> list[str]:
    """A reason per `.gitignore` whose added `!pattern` lines would un-ignore a secret
    file (`!.env`), unless the scope names that `.gitignore` explicitly."""
    reasons = []
    for change in changes:
        if change.status == "D" or components(policy_name(change.new_path))[-1] != ".gitignore":
            continue
        if _named(scope, change.new_path, [".gitignore"]):
            continue
        new = repo.read_blob(change.new_sha).decode("utf-8", "replace").splitlines()
        old = repo.read_blob(change.old_sha).decode("utf-8", "replace").splitlines() if change.status != "A" else []
        before = Counter(old)
        for number, line in enumerate(new, 1):
            if before[line] > 0:
                before[line] -= 1
                continue
            exposed = unignored_secret(line)
            if exposed is not None:
                reasons.append(f"protected: {shown(change.new_path)}:{number} un-ignores secret files such as "
                               f"{exposed} (only a spec whose scope names it may change it)")
    return reasons


def unignored_secret(line: str) -> str | None:
    """The secret file name a `.gitignore` line brings back (`!.env` -> `.env`), or None."""
    line = line.strip()
    if not line.startswith("!"):
        return None
    # The last segment decides which names come back (`!config/.env` -> `.env`).
    pattern = line[1:].rstrip("/").rsplit("/", 1)[-1]
    for name in SECRET_FILES:
        if pattern and fnmatch.fnmatch(name, pattern, flags=fnmatch.IGNORECASE | fnmatch.DOTMATCH):
            return name
    return None
