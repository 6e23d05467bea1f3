from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fake_llm import FakeLLM
from gitflow_uet.run.adapters import TaskRun, get_adapter
from gitflow_uet.run.adapters.llm import extract_diff
from helpers import git, make_repo

APP = "def greet():\n    return 'hi'\n"

GOOD_DIFF = """\
diff --git a/src/app.py b/src/app.py
--- a/src/app.py
+++ b/src/app.py
@@ -1,2 +1,2 @@
 def greet():
-    return 'hi'
+    return 'hello'
diff --git a/src/new.py b/src/new.py
new file mode 100644
--- /dev/null
+++ b/src/new.py
@@ -0,0 +1 @@
+VALUE = 1
"""

README_DIFF = """\
diff --git a/README.md b/README.md
--- a/README.md
+++ b/README.md
@@ -1 +1 @@
-hello
+hacked
"""


def fenced(diff: str) -> str:
    return f"Here is the change.\n\n```diff\n{diff}```\n\nThat should do it.\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"src/app.py": APP, "README.md": "hello\n"}, uet=False)


def profile(llm: FakeLLM, **more: Any) -> SimpleNamespace:
    fields = {"base_url": llm.base_url, "model": "fake-coder", "api_key_env": "UET_TEST_LLM_KEY",
              "timeout": None, "max_output_bytes": None, "env": []}
    fields.update(more)
    return SimpleNamespace(**fields)


def task(worktree: Path, **fields: Any) -> TaskRun:
    base: dict[str, Any] = {"task_id": "edit", "tool": "llm", "run": None,
                            "prompt": "Make greet() say hello.", "worktree": worktree,
                            "context_files": ["src/app.py"], "scope": ["src/**"], "timeout": 20.0}
    base.update(fields)
    return TaskRun(**base)


def status(path: Path) -> str:
    return git(path, "status", "--porcelain")


def test_good_diff_is_applied_in_a_linked_worktree(repo: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "uet/ws-1", str(worktree))
    with FakeLLM(fenced(GOOD_DIFF)) as llm:
        result = get_adapter("llm", profile(llm)).run(task(worktree))
    assert result.ok, result.error
    assert result.exit == 0
    assert (worktree / "src/app.py").read_text() == "def greet():\n    return 'hello'\n"
    assert (worktree / "src/new.py").read_text() == "VALUE = 1\n"
    assert (repo / "src/app.py").read_text() == APP  # the main checkout is untouched
    assert result.usage.tokens_in == 120 and result.usage.tokens_out == 30
    assert result.usage.cost_usd is None
    assert b"```diff" in result.output
    (request,) = llm.requests
    assert request["path"] == "/v1/chat/completions"
    body = request["body"]
    assert body["model"] == "fake-coder"
    system, user = body["messages"]
    assert system["role"] == "system" and "ONE unified diff" in system["content"]
    assert "Make greet() say hello." in user["content"]
    assert APP in user["content"]  # the context file's content
    assert "src/**" in user["content"]


def test_malformed_diff_fails_cleanly(repo: Path) -> None:
    broken = "```diff\n--- a/src/app.py\n+++ b/src/app.py\n@@ -1,2 +1,5 @@\n-def greet():\n```\n"
    with FakeLLM(broken) as llm:
        result = get_adapter("llm", profile(llm)).run(task(repo))
    assert not result.ok
    assert (result.error or "").startswith("corrupt hunk: src/app.py hunk 1")
    assert status(repo) == ""


def test_answer_without_a_diff_fails(repo: Path) -> None:
    with FakeLLM("I cannot help with that.") as llm:
        result = get_adapter("llm", profile(llm)).run(task(repo))
    assert not result.ok and result.error == "the answer holds no diff"
    assert result.output == b"I cannot help with that."


def test_diff_outside_scope_is_refused_and_nothing_applied(repo: Path) -> None:
    with FakeLLM(fenced(GOOD_DIFF + README_DIFF)) as llm:
        result = get_adapter("llm", profile(llm)).run(task(repo))
    assert not result.ok
    assert result.error == "diff touches paths outside scope: README.md"
    assert status(repo) == ""
    assert (repo / "src/app.py").read_text() == APP


def test_unsafe_paths_are_refused(repo: Path) -> None:
    escape = README_DIFF.replace("README.md", "../outside.txt")
    with FakeLLM(fenced(escape)) as llm:
        result = get_adapter("llm", profile(llm)).run(task(repo, scope=None))
    assert not result.ok
    assert result.error == "diff touches unsafe paths: ../outside.txt"
    assert not (repo.parent / "outside.txt").exists()
    assert status(repo) == ""


def test_headers_git_reads_differently_are_refused(repo: Path) -> None:
    # Without a/ b/ prefixes git strips `src/` and would write `app.py`: not what was checked.
    bare = GOOD_DIFF.split("diff --git a/src/new.py")[0].replace("a/src/", "src/").replace("b/src/", "src/")
    with FakeLLM(fenced(bare)) as llm:
        result = get_adapter("llm", profile(llm)).run(task(repo, scope=None))
    assert not result.ok
    assert (result.error or "").startswith("diff headers disagree with git's reading")
    assert (result.error or "").endswith(": app.py")
    assert status(repo) == ""


def test_diff_that_does_not_apply_fails(repo: Path) -> None:
    stale = GOOD_DIFF.replace("-    return 'hi'", "-    return 'howdy'")
    with FakeLLM(fenced(stale)) as llm:
        result = get_adapter("llm", profile(llm)).run(task(repo))
    assert not result.ok and (result.error or "").startswith("diff does not apply")
    assert status(repo) == ""


def test_api_key_is_sent_as_bearer_and_never_shown(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-test-Zq8s0m3th1ngS3cret"
    monkeypatch.setenv("UET_TEST_LLM_KEY", key)
    # A model that echoes its input, and a server whose error page echoes the header.
    with FakeLLM(lambda body: f"your key is {key}\n" + fenced(GOOD_DIFF)) as llm:
        result = get_adapter("llm", profile(llm)).run(task(repo))
        assert llm.requests[0]["headers"]["Authorization"] == f"Bearer {key}"
        assert result.ok, result.error
        assert key.encode() not in result.output and b"[redacted]" in result.output

        llm.status, llm.error_body = 401, f'{{"error": "bad key Bearer {key}"}}'
        result = get_adapter("llm", profile(llm)).run(task(repo))
        assert not result.ok
        assert "HTTP 401" in (result.error or "")
        assert key not in (result.error or "") and key.encode() not in result.output


def test_server_error_is_a_clean_failure(repo: Path) -> None:
    with FakeLLM(fenced(GOOD_DIFF), status=500) as llm:
        result = get_adapter("llm", profile(llm)).run(task(repo))
    assert not result.ok and result.exit is None
    assert "HTTP 500" in (result.error or "") and "internal error" in (result.error or "")
    assert "\n" not in (result.error or "")
    assert status(repo) == ""


def test_unreachable_endpoint_is_a_clean_failure(repo: Path) -> None:
    # A port bound but not listening refuses connections, and nothing else can take it
    # while we hold it (a port released first could be taken by another test's server).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        dead = SimpleNamespace(base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key_env=None)
        result = get_adapter("llm", dead).run(task(repo))
    assert not result.ok and "cannot connect" in (result.error or "")


def test_slow_server_times_out(repo: Path) -> None:
    with FakeLLM(fenced(GOOD_DIFF), delay=3.0) as llm:
        result = get_adapter("llm", profile(llm)).run(task(repo, timeout=0.5))
    assert not result.ok and result.timed_out
    assert (result.error or "").endswith("timed out after 0.5s")
    assert status(repo) == ""


def test_context_over_budget_is_listed_as_omitted(repo: Path) -> None:
    (repo / "src/big.py").write_text("x = 1\n" * 2000)  # ~3000 tokens
    (repo.parent / "secret.txt").write_text("TOP SECRET\n")
    feedback = repo.parent / "round1.log"
    feedback.write_text("AssertionError: expected hello\n")
    with FakeLLM(fenced(GOOD_DIFF)) as llm:
        result = get_adapter("llm", profile(llm, max_context_tokens=500)).run(task(
            repo, context_files=["src/app.py", "src/big.py", "../secret.txt"], feedback_file=feedback))
        user = llm.requests[0]["body"]["messages"][1]["content"]
    assert result.ok, result.error
    assert APP in user
    assert "x = 1\nx = 1" not in user
    assert "Omitted for size or unreadable (not shown): src/big.py" in user
    assert "TOP SECRET" not in user and "secret.txt" not in user  # outside the worktree
    assert "AssertionError: expected hello" in user


def test_extract_diff_forms() -> None:
    assert extract_diff(fenced(README_DIFF)) == README_DIFF
    assert extract_diff("Sure:\n" + README_DIFF) == README_DIFF
    assert extract_diff("```\n" + README_DIFF + "```\n") == README_DIFF
    assert extract_diff("no diff here") is None


def test_worktree_that_is_not_a_repository_fails_cleanly(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "src").mkdir()
    (plain / "src/app.py").write_text(APP)
    with FakeLLM(fenced(GOOD_DIFF)) as llm:
        result = get_adapter("llm", profile(llm)).run(task(plain))
    assert not result.ok and "not a git repository" in (result.error or "")
    assert (plain / "src/app.py").read_text() == APP
