"""Shapes of credentials that must never land through a patch.

Only the rule's name is ever reported: the matched text is a secret, so it must not reach
a reason, a log or the ledger.
"""

from __future__ import annotations

import re

RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("aws access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}")),
    ("github token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}")),
    ("slack token", re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}")),
    ("api key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    # `password = "..."`, `"api_key": '...'`, `DB_TOKEN: "..."`: an assignment of a
    # literal of 12+ characters to a name that says it is a credential.
    ("credential assignment", re.compile(
        r"(?i)(?:api[_-]?key|secret|token|passw(?:or)?d)['\"]?\s*[:=]\s*['\"][^'\"]{12,}['\"]")),
)


def find(line: str) -> list[str]:
    """Names of the rules `line` matches (each at most once), never the matched text."""
    names: list[str] = []
    for name, pattern in RULES:
        if name not in names and pattern.search(line):
            names.append(name)
    return names
