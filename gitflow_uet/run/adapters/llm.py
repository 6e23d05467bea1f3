"""Any OpenAI-compatible chat-completions endpoint, in patch-first mode.

The model never touches the worktree itself: it is asked for one unified diff, which is
extracted from its answer, parsed with unidiff, checked against the task's scope, and only
then applied with `git apply` (all or nothing). The API key is read from the environment
variable the profile names, at call time, and appears in no output, error or log.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from gitflow_uet.workstream import secrets
from gitflow_uet.run.adapters import TaskResult, TaskRun, Usage, cap_bytes, limits, one_line
from gitflow_uet.errors import UetError
from gitflow_uet.git.apply import apply_patch, patch_paths
from gitflow_uet.workstream import difftext
from gitflow_uet.workstream.pathrules import path_reasons, shown
from gitflow_uet.spec.scope import matches

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_MODEL = "qwen2.5-coder"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
DEFAULT_MAX_CONTEXT_TOKENS = 24000
# A feedback file is a failure log: its end says what went wrong, so the tail is kept.
FEEDBACK_CHARS = 16000
# An answer bigger than this is not a patch we want; it also bounds memory.
MAX_RESPONSE_BYTES = 20_000_000

SYSTEM_PROMPT = """\
You are a careful software engineer changing a git repository.
Answer with exactly ONE unified diff in git format: `diff --git a/<path> b/<path>`, then \
`--- a/<path>` and `+++ b/<path>` (`/dev/null` for a new or deleted file), then hunks whose \
line counts are exact. Paths are relative to the repository root. Put the whole diff in a \
single ```diff fenced block. Change only what the task needs; nothing outside the block.
"""

_FENCE = re.compile(r"^```[ \t]*([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
_DIFF_START = re.compile(r"^(diff --git |--- )", re.M)


def approx_tokens(text: str) -> int:
    return len(text) // 4


class LLMAdapter:
    name = "llm"

    def __init__(self, profile: Any = None):
        self.profile = profile
        self.base_url = (getattr(profile, "base_url", None) or DEFAULT_BASE_URL).rstrip("/")
        self.model = getattr(profile, "model", None) or DEFAULT_MODEL
        # Without a profile the config's built-in default applies; with one, only the name
        # it gives, so a key is never sent to an endpoint the user did not pair it with.
        self.api_key_env = (getattr(profile, "api_key_env", None) if profile is not None
                            else DEFAULT_API_KEY_ENV)
        self.max_context_tokens = int(getattr(profile, "max_context_tokens", None)
                                      or DEFAULT_MAX_CONTEXT_TOKENS)

    def run(self, task: TaskRun) -> TaskResult:
        started = time.monotonic()
        if not task.prompt:
            return TaskResult.failure(f"task {task.task_id!r} has no prompt for llm")
        timeout, max_output = limits(task, self.profile)
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        secrets.hold(key)  # an answer that echoes it must not get it stored or landed
        user, _omitted = build_user_message(task, self.max_context_tokens)
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                         {"role": "user", "content": user}],
        }
        try:
            response = _post_json(self.base_url + "/chat/completions", body, key, timeout)
        except _CallFailed as exc:
            return TaskResult.failure(_redact(str(exc), key), seconds=time.monotonic() - started,
                                      timed_out=exc.timed_out)
        usage = Usage.from_report(response)
        answer = _answer_text(response)
        # A model can echo what it was sent; the key must not reach the ledger that way.
        output, truncated = cap_bytes(_redact(answer or "", key).encode("utf-8"), max_output)

        def fail(error: str) -> TaskResult:
            result = TaskResult.failure(_redact(error, key), seconds=time.monotonic() - started,
                                        output=output, usage=usage)
            result.truncated = truncated
            return result

        if answer is None:
            return fail("the response holds no answer (choices[0].message.content)")
        try:
            error = land_diff(task, answer)
        except UetError as exc:  # e.g. the worktree is not a git checkout
            error = str(exc)
        if error:
            return fail(error)
        return TaskResult(ok=True, exit=0, output=output, seconds=time.monotonic() - started,
                          truncated=truncated, usage=usage)


# -- the request -----------------------------------------------------------------------------


def build_user_message(task: TaskRun, budget: int) -> tuple[str, list[str]]:
    """The prompt, the scope, the previous failure and as many context files as fit in
    `budget` tokens (in the order given); the others are named as omitted."""
    parts = [(task.prompt or "").strip()]
    if task.scope is not None:
        parts.append("Only change files matching: " + ", ".join(task.scope))
    if task.feedback_file is not None:
        feedback = _read_text(task.feedback_file)
        if feedback is not None:
            parts.append("The previous attempt failed with this output:\n```\n"
                         + feedback[-FEEDBACK_CHARS:] + "\n```")
    used = sum(approx_tokens(p) for p in parts)
    shown, omitted = [], []
    for rel in _context_paths(task):
        text = _read_text(task.worktree / rel)
        if text is None:
            omitted.append(rel)
            continue
        block = f"File `{rel}`:\n```\n{text}\n```"
        cost = approx_tokens(block)
        if used + cost > budget:
            omitted.append(rel)
            continue
        used += cost
        shown.append(block)
    parts += shown
    if omitted:
        parts.append("Omitted for size or unreadable (not shown): " + ", ".join(omitted))
    return "\n\n".join(parts) + "\n", omitted


def _context_paths(task: TaskRun) -> list[str]:
    """Context files inside the worktree, directories expanded. A path leading outside it
    (`..`, absolute, or a symlink) is skipped: its content would go to a remote server."""
    root = task.worktree.resolve()
    out: list[str] = []
    for rel in task.context_files:
        path = (task.worktree / rel).resolve()
        if not path.is_relative_to(root):
            continue
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                inner = sub.resolve()
                if sub.is_file() and inner.is_relative_to(root) and ".git" not in sub.relative_to(root).parts:
                    out.append(sub.relative_to(root).as_posix())
        elif path.is_file():
            out.append(path.relative_to(root).as_posix())
    return list(dict.fromkeys(out))


def _read_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8000]:
        return None  # binary: no use to a text model
    return data.decode("utf-8", "replace")


class _CallFailed(Exception):
    def __init__(self, message: str, *, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the Authorization header to wherever it points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _post_json(url: str, body: dict[str, Any], key: str | None, timeout: float) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if _is_loopback(url):
        handlers.append(urllib.request.ProxyHandler({}))  # a local server is never behind a proxy
    opener = urllib.request.build_opener(*handlers)
    deadline = time.monotonic() + timeout
    where = _shown(url)
    try:
        with opener.open(request, timeout=timeout) as reply:
            data = _read_until(reply, deadline)
    except urllib.error.HTTPError as exc:
        detail = one_line(exc.read(500).decode("utf-8", "replace")) if exc.fp else ""
        raise _CallFailed(f"{where}: HTTP {exc.code}" + (f": {detail[:200]}" if detail else "")) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _CallFailed(f"{where}: timed out after {timeout:g}s", timed_out=True) from None
        raise _CallFailed(f"{where}: cannot connect: {exc.reason}") from None
    except TimeoutError:
        raise _CallFailed(f"{where}: timed out after {timeout:g}s", timed_out=True) from None
    except (OSError, ValueError) as exc:
        raise _CallFailed(f"{where}: {exc}") from None
    try:
        doc = json.loads(data)
    except ValueError:
        head = one_line(data[:200].decode("utf-8", "replace"))
        raise _CallFailed(f"{where}: the response is not JSON: {head}") from None
    if not isinstance(doc, dict):
        raise _CallFailed(f"{where}: the response is not a JSON object")
    return doc


def _read_until(reply: Any, deadline: float) -> bytes:
    # urlopen's timeout bounds each socket read, not the whole answer: a server trickling
    # bytes could otherwise hold a worker forever.
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = reply.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ValueError(f"the response is over {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(url: str) -> str:
    """The endpoint as errors name it: without user:password@ or a query string."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _redact(text: str, key: str | None) -> str:
    return text.replace(key, "[redacted]") if key else text


def _answer_text(response: dict[str, Any]) -> str | None:
    try:
        content = response["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(content, list):  # some servers send content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else None


# -- the answer ------------------------------------------------------------------------------


def extract_diff(answer: str) -> str | None:
    """The diff in a model's answer: its ```diff (or ```patch) blocks, else a fenced block
    that reads as a diff, else the raw text from its first diff header on."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(answer)]
    tagged = [body for lang, body in blocks if lang in ("diff", "patch", "udiff")]
    if tagged:
        # Models asked for one diff sometimes split it per file; together they are one.
        return "".join(b if b.endswith("\n") else b + "\n" for b in tagged)
    for _lang, body in blocks:
        if _DIFF_START.match(body.lstrip("\n")):
            return body if body.endswith("\n") else body + "\n"
    start = _DIFF_START.search(answer)
    if start is None:
        return None
    text = answer[start.start():]
    return text if text.endswith("\n") else text + "\n"


def land_diff(task: TaskRun, answer: str) -> str | None:
    """Check the answer's diff and apply it to the worktree; the reason when refused."""
    import unidiff

    diff = extract_diff(answer)
    if diff is None:
        return "the answer holds no diff"
    # git apply would drop a long hunk's tail without a word: refused whole, first.
    corrupt = difftext.hunk_reasons(diff)
    if corrupt:
        return corrupt[0] + (f" (+{len(corrupt) - 1} more)" if len(corrupt) > 1 else "")
    try:
        patch = unidiff.PatchSet(diff)
    except Exception as exc:  # unidiff raises more than UnidiffParseError on odd input
        return f"malformed diff: {exc}"
    if not len(patch):
        return "malformed diff: no file in it"
    sections = [{name[2:] if name.startswith(("a/", "b/")) else name
                 for name in (patched.source_file, patched.target_file) if name and name != "/dev/null"}
                for patched in patch]
    paths = sorted(set().union(*sections))
    # git apply would patch a file twice without a word.
    twice = difftext.repeated_files(sections)
    if twice:
        return twice[0]
    data = diff.encode("utf-8")
    by_git = patch_paths(task.worktree, data)
    if by_git is None:
        return "malformed diff: git cannot read it"
    # unidiff and git may read headers differently (missing a/ b/ prefixes, a rename that
    # disagrees with ---/+++): what git would write must be what we checked.
    unseen = sorted(set(by_git) - set(paths))
    if unseen:
        return ("diff headers disagree with git's reading (paths need a/ and b/ prefixes): "
                + ", ".join(shown(p) for p in unseen))
    bad = sorted({p for p in paths if _unsafe(p)})
    if bad:
        return "diff touches unsafe paths: " + ", ".join(shown(p) for p in bad)
    outside = sorted({p for p in paths if not matches(p, task.scope)})
    if outside:
        return "diff touches paths outside scope: " + ", ".join(shown(p) for p in outside)
    ok, message = apply_patch(task.worktree, data, check=True)
    if not ok:
        return f"diff does not apply: {message}"
    ok, message = apply_patch(task.worktree, data, check=False)
    return None if ok else f"diff does not apply: {message}"


def _unsafe(path: str) -> bool:
    parts = path.split("/")
    return (path.startswith("/") or "\\" in path or ".." in parts or not path.strip()
            or bool(path_reasons(path)))
