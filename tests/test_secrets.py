"""Secrets: the rules, redaction, the keys the tool holds, and the three ways a credential
used to reach the object store (issue 8, item 13)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from gitflow_uet.workstream import secrets
from gitflow_uet.git import Repo
from gitflow_uet.ledger.store import Blob, Change, Ledger
from gitflow_uet.project import Project
from tests.helpers import git, make_repo, uet, write, write_spec

# Every credential below is assembled at run time, so that this file reads as ordinary code
# to the scanner (test_repository_source_has_no_findings).
AWS_ID = "AKIA" + "Q3EXAMPLE7KEY2ZZ"
AWS_SAK = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
GITLAB = "glpat-" + "xXxXxXxXxXxXxXxXxXxX"
JWT = ".".join(["eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"])
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----"
TOOL_KEY = "sk-test-" + "echoed-by-the-model-0123456789"
LONG_VALUE = "s3cr3t-" + "VALUE-long"
DB_PW = "pw-" + "value-123"

CONFIG = {"schema_version": 1, "gates": {}, "integrate_gates": [], "hook_gates": {"pre-commit": [], "pre-push": []}}


@pytest.fixture(autouse=True)
def no_held_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no held keys (they are per process)."""
    monkeypatch.setattr(secrets, "_held", ())


# -- the rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "line", "rule", "value"), [
    ("src/a.py", f"key = '{AWS_ID}'", "aws-access-key", AWS_ID),
    ("src/a.py", f'AWS_SECRET_ACCESS_KEY="{AWS_SAK}"', "aws-access-key", AWS_SAK),
    (".env", f"AWS_SECRET_ACCESS_KEY={AWS_SAK}", "secret-keyword", AWS_SAK),
    ("ci.sh", f"export GH={GITHUB}", "github-token", GITHUB),
    ("src/a.js", f"const slack = '{SLACK}';", "slack-token", SLACK),
    ("src/a.py", f"stripe.api_key = '{STRIPE}'", "stripe-access-key", STRIPE),
    ("src/a.py", f"GL = '{GITLAB}'", "gitlab-token", GITLAB),
    ("src/a.py", f"TOKEN = '{JWT}'", "json-web-token", JWT),
    ("id_rsa", PEM, "private-key", PEM.strip("-")),
    (".env", f"FOO_SECRET_BAR={LONG_VALUE}", "secret-keyword", LONG_VALUE),
    ("src/a.py", f'MY_SECRET_KEY = "{LONG_VALUE}"', "secret-keyword", LONG_VALUE),
    ("config.yaml", "db_password: hunter2hunter2", "secret-keyword", "hunter2hunter2"),
])
def test_rules_find_each_kind_and_name_it_by_rule_place_and_digest(path: str, line: str, rule: str,
                                                                  value: str) -> None:
    found = secrets.scan_line(line, path, 7)
    assert [(f.rule, f.value) for f in found] == [(rule, value)]
    assert str(found[0]) == f"{rule}, {path}:7, {secrets.digest(value)}"
    assert value not in str(found[0]) and value not in repr(found[0])


@pytest.mark.parametrize(("path", "line"), [
    ("src/a.py", "password = get_password()"),
    ("src/a.py", 'token = os.environ["GITHUB_TOKEN"]'),
    ("src/a.py", 'api_key_env = "OPENAI_API_KEY"'),
    ("src/a.py", 'secret = "${SECRET}"'),
    (".env", "DB_PASSWORD=$DB_PASSWORD"),
    ("src/a.py", "sha = '3f786850e387550fdab836ed7e6dc881de23001b'"),
    ("src/a.py", "patch_id = '01JBX3K7Y2QZ8M4N6P0R5S9T1V'"),
    ("src/a.py", "uuid = '123e4567-e89b-12d3-a456-426614174000'"),
    ("gate.log", "secret: aws-access-key, config.py:1, sha256:1a2b3c4d"),  # a reason, as shown
])
def test_ordinary_code_is_not_a_finding(path: str, line: str) -> None:
    assert secrets.scan_line(line, path) == []


def test_repository_source_has_no_findings() -> None:
    """The scanner over this project's own files: nothing, but for the patch-check tests'
    deliberate fixtures."""
    root = Path(__file__).resolve().parents[1]
    fixtures = {"tests/test_patchcheck.py"}
    files = [p for folder in ("gitflow_uet", "tests", "bench", "schema") for p in (root / folder).rglob("*")
             if p.is_file() and p.suffix in (".py", ".json", ".md", ".yaml", ".toml", "")]
    files += [root / name for name in ("README.md", "ARCHITECTURE.md", "pyproject.toml")]
    found = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel not in fixtures and "__pycache__" not in rel:
            found += [str(f) for f in secrets.scan_text(path.read_text("utf-8", "replace"), rel)]
    assert found == []


def test_the_tools_own_source_is_no_finding() -> None:
    # Code full of `secret`, `token`, `key =` and hashes: a rule that flags it would refuse
    # every ordinary patch. (Its speed: bench/secrets_bench.py.)
    source = (Path(__file__).resolve().parents[1] / "gitflow_uet" / "ledger" / "store.py").read_text()
    lines = list(enumerate((source.splitlines() * 8)[:2000], 1))
    assert secrets.scan_lines("gitflow_uet/ledger/store.py", lines) == []


# -- redaction and held keys ---------------------------------------------------------------------

def test_redaction_replaces_values_with_their_marker_and_is_stable() -> None:
    text = (f"GITHUB_TOKEN={GITHUB}\nplain line\n{PEM}\nMIIEowIBAAKCAQEA\nabc\n"
            "-----END RSA PRIVATE KEY-----\nafter\n")
    redacted, found = secrets.redact_text(text, "log")
    assert redacted == (f"GITHUB_TOKEN=[redacted: github-token, {secrets.digest(GITHUB)}]\nplain line\n"
                        f"-----[redacted: private-key, {secrets.digest(PEM.strip('-'))}]-----\n"
                        "[redacted]\n[redacted]\n[redacted]\nafter\n")
    assert [f.rule for f in found] == ["github-token", "private-key"]
    assert secrets.redact_text(redacted, "log") == (redacted, [])  # markers are not findings
    assert secrets.redact_bytes(b"\xff\xfe binary, nothing secret") == b"\xff\xfe binary, nothing secret"


def test_held_keys_are_the_profiles_api_key_and_secret_looking_pass_throughs() -> None:
    env = {"MY_LLM_KEY": TOOL_KEY, "GITHUB_TOKEN": "gh-token-value-1", "DB_PASSWORD": DB_PW,
           "PATH": "/usr/local/bin:/usr/bin", "HOME": "/home/someone", "SHORT_TOKEN": "abc"}

    class Profile:
        api_key_env = "MY_LLM_KEY"
        env = ["GITHUB_TOKEN", "DB_PASSWORD", "PATH", "HOME", "SHORT_TOKEN"]

    secrets.hold_tool_keys({"llm": Profile()}, env)
    assert set(secrets.held()) == {TOOL_KEY, "gh-token-value-1", DB_PW}
    line = f"Authorization: Bearer {TOOL_KEY} home=/home/someone"
    assert secrets.redact_held(line) == "Authorization: Bearer [redacted] home=/home/someone"
    assert [str(f) for f in secrets.scan_line(f"x = '{TOOL_KEY}'", "a.txt", 3)] == [
        f"tool-held-key, a.txt:3, {secrets.digest(TOOL_KEY)}"]


def test_ledger_writes_logs_redacted_and_diffs_verbatim(tmp_path: Path) -> None:
    repo = Repo.discover(make_repo(tmp_path / "repo"))
    secrets.hold(TOOL_KEY)
    log = f"env:\nGITHUB={GITHUB}\nKEY={TOOL_KEY}\n".encode()
    diff = b"diff --git a/x b/x\n+context that a rule would not like: " + AWS_ID.encode() + b"\n"
    Ledger(repo).append(Change("workstream", "w", "planned", "start", {
        "log": Blob(log), "diff": Blob(diff, verbatim=True), "reasons": [f"task failed: {TOOL_KEY}"]}))
    record = Ledger(repo).state().get("workstream", "w") or {}
    stored = repo.read_blob(record["log"]["blob"]).decode()
    assert stored == f"env:\nGITHUB=[redacted: github-token, {secrets.digest(GITHUB)}]\nKEY=[redacted]\n"
    assert repo.read_blob(record["diff"]["blob"]) == diff
    assert record["reasons"] == ["task failed: [redacted]"]


def test_bare_diff_text_with_a_secret_is_refused_before_git_hashes_it(tmp_path: Path) -> None:
    from gitflow_uet.spec.config import PatchPolicy
    from gitflow_uet.workstream.patchcheck import check_patch

    root = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    diff = ("diff --git a/b.txt b/b.txt\nnew file mode 100644\n--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n"
            f"+{GITHUB}\n").encode()
    report = check_patch(Repo.discover(root), base=git(root, "rev-parse", "HEAD"), head=None, diff=diff,
                         scope=None, policy=PatchPolicy())
    assert report.reasons == [f"secret: github-token, b.txt:1, {secrets.digest(GITHUB)}"]
    assert GITHUB.encode() not in _all_objects(root)


# -- end to end ---------------------------------------------------------------------------------------

def _project(tmp_path: Path, specs: dict[str, dict], **config: object) -> Path:
    repo = make_repo(tmp_path / "repo")
    write(repo / ".uet" / "config.yaml", yaml.safe_dump({**CONFIG, **config}))
    for ws_id, fields in specs.items():
        write_spec(repo, ws_id, **fields)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "specs")
    return repo


def _all_objects(repo: Path) -> bytes:
    return subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo,
                          capture_output=True, check=True).stdout


def test_shell_task_writing_an_aws_key_leaves_no_object_holding_it(tmp_path: Path) -> None:
    # In two halves: the spec holding the command is committed, and must not hold the key.
    script = f"printf 'AWS_SECRET_ACCESS_KEY=\"%s%s\"\\n' '{AWS_SAK[:20]}' '{AWS_SAK[20:]}' > settings.py"
    repo = _project(tmp_path, {"w": {"tasks": [{"id": "edit", "run": script}]}})
    done = uet(repo, "run")
    assert done.returncode == 1, done.stderr
    status = json.loads(uet(repo, "status", "--json").stdout)
    assert [w["state"] for w in status["workstreams"]] == ["quarantined"]
    assert AWS_SAK.encode() not in _all_objects(repo)
    record = Project.open(repo).ledger.state().get("workstream", "w") or {}
    assert record["reasons"][0] == f"secret: aws-access-key, settings.py:1, {secrets.digest(AWS_SAK)}"
    assert (repo / ".worktrees" / "w" / "settings.py").read_text().startswith("AWS_SECRET_ACCESS_KEY=")


def test_env_printed_by_a_task_is_stored_with_the_passed_through_token_redacted(tmp_path: Path) -> None:
    token = "gh-" + "passed-through-token-0123456789"
    repo = _project(tmp_path, {"w": {"tasks": [{"id": "edit", "run": "env; echo done > done.txt"}]}},
                    tools={"shell": {"env": ["GITHUB_TOKEN"]}})
    done = uet(repo, "run", env={"GITHUB_TOKEN": token})
    assert done.returncode == 0, done.stderr
    record = Project.open(repo).ledger.state().get("workstream", "w") or {}
    log = Project.open(repo).ledger.state().blob(record["tasks"]["edit"]["log"]["blob"]).decode()
    assert "GITHUB_TOKEN=[redacted]" in log.splitlines()
    assert token.encode() not in _all_objects(repo)


def test_llm_echoing_its_api_key_in_the_diff_is_quarantined_and_the_key_shown_nowhere(
        tmp_path: Path) -> None:
    from tests.fake_llm import FakeLLM

    answer = ("```diff\ndiff --git a/hello.txt b/hello.txt\nnew file mode 100644\n--- /dev/null\n"
              f"+++ b/hello.txt\n@@ -0,0 +1 @@\n+auth: {TOOL_KEY}\n```\n")
    with FakeLLM(answer) as llm:
        repo = _project(tmp_path, {"m": {"scope": ["hello.txt"], "tasks": [
            {"id": "edit", "tool": "llm", "prompt": "create hello.txt"}]}},
            tools={"llm": {"base_url": llm.base_url, "model": "fake", "api_key_env": "FAKE_KEY"}})
        done = uet(repo, "run", env={"FAKE_KEY": TOOL_KEY})
        assert llm.requests and llm.requests[0]["headers"]["Authorization"] == f"Bearer {TOOL_KEY}"
    assert done.returncode == 1, done.stderr
    record = Project.open(repo).ledger.state().get("workstream", "m") or {}
    assert record["state"] == "quarantined"
    assert record["reasons"][0] == f"secret: tool-held-key, hello.txt:1, {secrets.digest(TOOL_KEY)}"
    assert "hello.txt" not in git(repo, "ls-tree", "-r", "--name-only", "main")
    assert TOOL_KEY.encode() not in _all_objects(repo)
    shown = [done.stdout, done.stderr]
    for args in (["status"], ["status", "--json"], ["log"], ["show", "m"], ["show", "m", "--json"],
                 ["report"], ["report", "--json"]):
        out = uet(repo, *args, env={"FAKE_KEY": TOOL_KEY})
        assert out.returncode in (0, 1), (args, out.stderr)
        shown += [out.stdout, out.stderr]
    assert all(TOOL_KEY not in text for text in shown)
