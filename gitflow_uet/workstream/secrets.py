"""Credentials in what the tool stores or shows: found, and never written as they are.

The rules are detect-secrets' (Yelp) detectors: each plugin's own patterns (AWS, GitHub,
GitLab, Slack, Stripe, private keys, JWTs, ...) and its keyword detector for assignments
such as `AWS_SECRET_ACCESS_KEY="..."` or `DB_PASSWORD: ...`, filtered by its heuristics
(templated values, `$VAR`, UUIDs, indirect references). The entropy detectors and the public
IP one are left out: they flag hashes and addresses, which fill every diff and log.

A finding is shown as `rule, path:line, sha256:<8 hex>`, never by its value. Besides the
rules, the values the tool itself holds (a profile's `api_key_env` variable, the secret
looking variables a profile passes through) are `[redacted]` wherever they turn up.

Which text may be stored at all is decided elsewhere: a patch holding a finding is refused
before any object with it is written (workstreams.submit, patchcheck); a log or an answer
is stored with each finding replaced by its marker (ledger).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import Any, Callable, Iterable, Mapping, Pattern

from gitflow_uet.workstream import pathrules

REDACTED = "[redacted]"
HELD_RULE = "tool-held-key"
# A held value shorter than this is no credential worth the name, and replacing it
# everywhere would mangle ordinary text.
MIN_HELD = 8
# Variable names that say they hold a credential: passed through by a tool profile, their
# values are held like an API key.
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|APIKEY|(?:^|_)(?:KEY|AUTH|PAT|PASS)(?:_|$)")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_REPORTED = re.compile(r"[a-z0-9-]+, [^\n]*:\d+, sha256:[0-9a-f]{8}")
# detect-secrets detectors not used (see the module docstring).
_SKIPPED = {"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"}
# Prefilter, as gitleaks' `keywords`: a detector's patterns run only on a line that holds
# (lowercased) one of its words. Each word is taken from the detector's own patterns; a
# detector missing here runs on every line, so a new one is slower, never unseen.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "ArtifactoryDetector": ("akc", "ap"),
    "AWSKeyDetector": ("a3t", "abia", "acca", "akia", "asia", "aws"),
    "AzureStorageKeyDetector": ("accountkey",),
    "BasicAuthDetector": ("://",),
    "CloudantDetector": ("cl",),
    "DiscordBotTokenDetector": (".",),
    "GitHubTokenDetector": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "GitLabTokenDetector": ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "gr1348941", "glcbt-", "glimt-",
                            "glptt-", "glagent-", "gloas-"),
    "IbmCloudIamDetector": ("key", "pwd", "pass", "token"),
    "IbmCosHmacDetector": ("secret",),
    "JwtTokenDetector": ("eyj",),
    "KeywordDetector": ("key", "pass", "pwd", "secret", "contrase"),
    "MailchimpDetector": ("-us",),
    "NpmDetector": ("_authtoken",),
    "OpenAIDetector": ("t3blbkfj",),
    "PrivateKeyDetector": ("private key", "putty-user-key"),
    "PypiTokenDetector": ("pypi-",),
    "SendGridDetector": ("sg.",),
    "SlackDetector": ("xox", "hooks.slack.com"),
    "SoftlayerDetector": ("softlayer", "sl"),
    "SquareOAuthDetector": ("sq0csp-",),
    "StripeDetector": ("k_live_",),
    "TelegramBotTokenDetector": (":",),
    "TwilioKeyDetector": ("ac", "sk"),
}
# Lines longer than this are scanned in pieces: some patterns backtrack on a huge line.
_MAX_LINE = 4000


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    line: int
    digest: str  # "sha256:" + the first 8 hex digits of the value's sha256
    value: str = field(repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.rule}, {pathrules.shown(self.path)}:{self.line}, {self.digest}"

    @property
    def marker(self) -> str:
        """What stands in a stored text where the value was."""
        # Not `secret: ...`: a keyword rule would take that for an assignment.
        return REDACTED if self.rule == HELD_RULE else f"[redacted: {self.rule}, {self.digest}]"


def digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:8]


# -- what the tool holds --------------------------------------------------------------------

_held_lock = threading.Lock()
_held: tuple[str, ...] = ()


def hold(*values: str | None) -> None:
    """Remember values this process holds (API keys) so they are never stored or shown."""
    global _held
    new = {v for v in values if v and len(v) >= MIN_HELD} - set(_held)
    if new:
        with _held_lock:
            _held = tuple(sorted({*_held, *new}, key=len, reverse=True))


def held() -> tuple[str, ...]:
    """The held values, longest first (a key that contains another is replaced whole)."""
    return _held


def secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a credential."""
    return bool(_SECRET_NAME.search(name.upper()))


def hold_tool_keys(tools: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Hold the keys the configured tool profiles give the tool: each `api_key_env`'s value
    and the value of every pass-through variable whose name says it is a credential."""
    env = os.environ if environ is None else environ
    for profile in tools.values():
        names = [getattr(profile, "api_key_env", None), *(getattr(profile, "env", None) or [])]
        hold(*(env.get(n) for i, n in enumerate(names) if n and (i == 0 or secret_name(n))))


# -- the rules --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    name: str
    keywords: tuple[str, ...] | None
    # (pattern, group holding the value or None: the longest group, else the whole match)
    patterns: tuple[tuple[Pattern[str], int | None], ...]
    keyword_style: bool  # detect-secrets' keyword detector: patterns depend on the file type
    regex_based: bool
    keyword_re: Pattern[str] | None = None


def _any_of(words: tuple[str, ...] | None) -> Pattern[str] | None:
    return re.compile("|".join(map(re.escape, words)), re.IGNORECASE) if words else None


def _slug(secret_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", secret_type.lower()).strip("-")


@lru_cache(maxsize=1)
def _rules() -> tuple[_Rule, ...]:
    # detect-secrets (and the `requests` it imports) costs a third of a second: only the
    # commands that scan pay it.
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    rules = []
    plugins: list[tuple[str, Any]] = list(get_mapping_from_secret_type_to_class().items())
    # The specific rules first: where the keyword rule sees the same value, theirs is the name.
    for secret_type, plugin in sorted(plugins, key=lambda item: (item[1].__name__ == "KeywordDetector", item[0])):
        name = plugin.__name__
        if name in _SKIPPED:
            continue
        keywords = KEYWORDS.get(name)
        if issubclass(plugin, RegexBasedDetector):
            patterns = tuple((p, None) for p in plugin.denylist)  # type: ignore[attr-defined]
            rules.append(_Rule(_slug(secret_type), keywords, patterns, False, True, _any_of(keywords)))
        elif name == "KeywordDetector":
            rules.append(_Rule(_slug(secret_type), keywords, (), True, False, _any_of(keywords)))
    return tuple(rules)


@lru_cache(maxsize=64)
def _keyword_patterns(path: str) -> tuple[tuple[Pattern[str], int | None], ...]:
    """The keyword detector's patterns for a file: by its type as detect-secrets reads it;
    for a type it does not know (a log, `.env`, a shell script) the config-file ones,
    where quotes around the value are optional (`TOKEN=abc`)."""
    from detect_secrets.plugins import keyword
    from detect_secrets.util.filetype import FileType, determine_file_type

    kind = determine_file_type(path)
    if kind in (FileType.OTHER, FileType.EXAMPLE):
        table = keyword.CONFIG_DENYLIST_REGEX_TO_GROUP
    else:
        table = keyword.REGEX_BY_FILETYPE.get(kind, keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
    return tuple(table.items())


@lru_cache(maxsize=1)
def _filters() -> tuple[Callable[[str, str, bool], bool], ...]:
    """detect-secrets' default heuristic filters, as (value, line, regex_based) -> drop."""
    from detect_secrets.filters import heuristic as h

    return (
        lambda value, line, regex: h.is_sequential_string(value),
        lambda value, line, regex: h.is_potential_uuid(value),
        lambda value, line, regex: h.is_templated_secret(value),
        lambda value, line, regex: h.is_prefixed_with_dollar_sign(value),
        lambda value, line, regex: h.is_not_alphanumeric_string(value),
        lambda value, line, regex: not regex and h.is_indirect_reference(line),
        lambda value, line, regex: not regex and h.is_likely_id_string(value, line),
        # Ours: `api_key_env = "OPENAI_API_KEY"` names a variable, it holds no value; and a
        # finding as this tool reports it (`secret: aws-access-key, a.py:1, sha256:…`) is none.
        lambda value, line, regex: not regex and _ENV_NAME.fullmatch(value) is not None,
        lambda value, line, regex: not regex and _REPORTED.fullmatch(value) is not None,
    )


def _value_span(match: re.Match[str], group: int | None) -> tuple[int, int]:
    if group is None:
        spans = [match.span(i) for i in range(1, (match.re.groups or 0) + 1) if match.group(i)]
        longest = max(spans, key=lambda s: s[1] - s[0], default=None)
        # A group that is only a prefix (`(ghp|gho)_...`) is not the value: take it all.
        start, end = longest if longest and longest[1] - longest[0] >= 8 else match.span()
    else:
        start, end = match.span(group)
    text = match.string
    # Some patterns stop short of the token's end (a lazy JWT signature, a longer token).
    while end < len(text) and (text[end].isalnum() or text[end] == "_" or (
            text[end] in "-+/" and end + 1 < len(text) and text[end + 1].isalnum())):
        end += 1
    while start < end and text[start] in " \t\"'`=:":
        start += 1
    while end > start and text[end - 1] in " \t\"'`,;":
        end -= 1
    return start, end


def scan_lines(path: str, lines: Iterable[tuple[int, str]]) -> list[Finding]:
    """Findings in numbered lines of one file (a diff's added lines, a log's lines), each
    value once, in order. A rule's patterns run only on the lines its keywords pick."""
    numbered = list(lines)
    if not numbered:
        return []
    texts = [text for _, text in numbered]
    joined = "\n".join(texts)
    starts = list(accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
    found: dict[int, dict[tuple[int, int], Finding]] = {}
    for value in held():
        pos = joined.find(value)
        while pos >= 0:
            i = bisect_right(starts, pos) - 1
            local = pos - starts[i]
            if local + len(value) <= len(texts[i]):
                spans = found.setdefault(i, {})
                spans[(local, local + len(value))] = Finding(HELD_RULE, path, numbered[i][0], digest(value), value)
            pos = joined.find(value, pos + len(value))
    for rule in _rules():
        for i in _candidates(rule, joined, starts):
            _apply(rule, texts[i], path, numbered[i][0], found.setdefault(i, {}))
    return [f for i in sorted(found) for _, f in sorted(found[i].items())]


def scan_line(text: str, path: str, number: int = 1) -> list[Finding]:
    return scan_lines(path, [(number, text)])


def scan_text(text: str, path: str) -> list[Finding]:
    return scan_lines(path, enumerate(text.split("\n"), 1))


def _candidates(rule: _Rule, joined: str, starts: list[int]) -> Iterable[int]:
    """Indexes of the lines holding one of the rule's keywords (all without keywords)."""
    if rule.keyword_re is None:
        return range(len(starts))
    picked = []
    pos = 0
    while (hit := rule.keyword_re.search(joined, pos)) is not None:
        i = bisect_right(starts, hit.start()) - 1
        picked.append(i)
        if i + 1 >= len(starts):
            break
        pos = starts[i + 1]
    return picked


def _apply(rule: _Rule, text: str, path: str, number: int, spans: dict[tuple[int, int], Finding]) -> None:
    patterns = _keyword_patterns(path) if rule.keyword_style else rule.patterns
    # A huge line is scanned in overlapping pieces: some patterns backtrack on one.
    step = _MAX_LINE if len(text) > _MAX_LINE + 200 else len(text) or 1
    for offset in range(0, max(len(text), 1), step):
        piece = text[offset:offset + step + 200]
        for pattern, group in patterns:
            for match in pattern.finditer(piece):
                start, end = _value_span(match, group)
                value = piece[start:end]
                if not value or any(f(value, piece, rule.regex_based) for f in _filters()):
                    continue
                span = (offset + start, offset + end)
                if not any(s < span[1] and span[0] < e for s, e in spans):
                    spans[span] = Finding(rule.name, path, number, digest(value), value)


# -- redaction ----------------------------------------------------------------------------------

_PRIVATE_KEY_END = re.compile(r"-----END[ A-Z0-9]*PRIVATE KEY[ A-Z]*-----|---- END SSH2 ENCRYPTED PRIVATE KEY ----")


def redact_text(text: str, path: str = "output") -> tuple[str, list[Finding]]:
    """`text` with every finding replaced by its marker (the lines of a private key's block
    by `[redacted]`), and the findings."""
    lines = text.split("\n")
    findings = scan_lines(path, enumerate(lines, 1))
    if not findings:
        return text, findings
    by_line: dict[int, list[Finding]] = {}
    for hit in findings:
        by_line.setdefault(hit.line - 1, []).append(hit)
    in_key = False
    for i, line in enumerate(lines):
        if in_key:
            in_key = not _PRIVATE_KEY_END.search(line)
            lines[i] = REDACTED
            continue
        out, pos = [], 0
        for hit in by_line.get(i, ()):
            start = line.find(hit.value, pos)
            if start < 0:
                continue
            out += [line[pos:start], hit.marker]
            pos = start + len(hit.value)
            if hit.rule == "private-key" and not _PRIVATE_KEY_END.search(line, pos):
                in_key = True
        if out:
            lines[i] = "".join(out) + line[pos:]
    return "\n".join(lines), findings


def redact_bytes(data: bytes, path: str = "output") -> bytes:
    """`redact_text` on bytes; bytes that are not UTF-8 pass through unchanged."""
    if not data.strip():
        return data
    text, findings = redact_text(data.decode("utf-8", "surrogateescape"), path)
    return text.encode("utf-8", "surrogateescape") if findings else data


def redact_held(text: str) -> str:
    """`text` with the values the tool holds replaced by `[redacted]` (no rules: for short
    fields such as reasons and errors, where a rule could match an id)."""
    for value in held():
        if value in text:
            text = text.replace(value, REDACTED)
    return text
