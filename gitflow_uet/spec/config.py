"""`.uet/config.yaml`: the repository-wide settings, with DESIGN.md's defaults."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gitflow_uet.spec.documents import field_error, read_document, validate

CONFIG_PATH = Path(".uet") / "config.yaml"


class _Strict(BaseModel):
    # A misspelt key must fail loudly rather than silently fall back to a default.
    model_config = ConfigDict(extra="forbid")


class PatchPolicy(_Strict):
    """What a patch may contain. `.git/` and `.uet/` are refused whatever this says."""

    max_files: int = Field(50, ge=1)
    max_lines: int = Field(2000, ge=1, description="added + removed")
    allow_binary: bool = False
    allow_symlinks: bool = False
    allow_submodules: bool = False
    allow_control_chars: bool = Field(False, description="paths with control characters (newline, tab, ESC)")
    max_binary_bytes: int = Field(10 * 1024 * 1024, ge=0, description="size of each binary file as stored")
    forbid: list[str] = Field(default_factory=lambda: [".gitattributes", ".gitmodules", ".lfsconfig"])
    protect_tests: list[str] = Field(
        default_factory=lambda: ["tests/**", "test_*.py", "*_test.py"],
        description="test files a patch may not delete or weaken unless its spec allows it")

    def narrowed(self, overrides: PolicyOverride | Mapping[str, Any] | None) -> PatchPolicy:
        """This policy tightened by a workstream's `policy`; a workstream can never loosen
        it: limits take the minimum, permissions are AND-ed, `forbid` is the union."""
        if overrides is None:
            return self
        extra = overrides if isinstance(overrides, PolicyOverride) else PolicyOverride.model_validate(overrides)
        forbid = list(self.forbid) + [item for item in extra.forbid or [] if item not in self.forbid]
        tests = list(self.protect_tests) + [item for item in extra.protect_tests or [] if item not in self.protect_tests]
        return PatchPolicy(
            max_files=min(self.max_files, extra.max_files if extra.max_files is not None else self.max_files),
            max_lines=min(self.max_lines, extra.max_lines if extra.max_lines is not None else self.max_lines),
            allow_binary=self.allow_binary and extra.allow_binary is not False,
            allow_symlinks=self.allow_symlinks and extra.allow_symlinks is not False,
            allow_submodules=self.allow_submodules and extra.allow_submodules is not False,
            allow_control_chars=self.allow_control_chars and extra.allow_control_chars is not False,
            max_binary_bytes=min(self.max_binary_bytes, extra.max_binary_bytes
                                 if extra.max_binary_bytes is not None else self.max_binary_bytes),
            forbid=forbid,
            protect_tests=tests,
        )


class PolicyOverride(_Strict):
    """A workstream's `policy:` block: any subset of PatchPolicy's fields (only narrows)."""

    max_files: int | None = Field(None, ge=1)
    max_lines: int | None = Field(None, ge=1)
    allow_binary: bool | None = None
    allow_symlinks: bool | None = None
    allow_submodules: bool | None = None
    allow_control_chars: bool | None = None
    max_binary_bytes: int | None = Field(None, ge=0)
    forbid: list[str] | None = None
    protect_tests: list[str] | None = None


# CI configuration runs with the repository's secrets; `.env` files hold them.
DEFAULT_PROTECT = (
    "workstreams/**", ".github/workflows/**", ".github/actions/**", ".gitlab-ci.yml", ".gitlab/ci/**",
    ".circleci/**", ".travis.yml", "azure-pipelines.yml", "Jenkinsfile", ".buildkite/**",
    "bitbucket-pipelines.yml", ".env", ".env.*",
)


class HookGates(_Strict):
    pre_commit: list[str] = Field(default_factory=list, alias="pre-commit")
    pre_push: list[str] = Field(default_factory=list, alias="pre-push", description="default: integrate_gates")


class ToolProfile(_Strict):
    """Settings for one adapter; unset fields fall back to the adapter's built-in default."""

    command: str | None = Field(None, description="command line; {prompt} is replaced by the task's prompt")
    max_workers: int | None = Field(None, ge=1)
    timeout: int | None = Field(None, ge=1, description="seconds")
    max_output_bytes: int | None = Field(None, ge=1)
    env: list[str] = Field(default_factory=list, description="names of environment variables passed through")
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = Field(None, description="name of the environment variable holding the API key")
    max_context_tokens: int | None = Field(None, ge=256, description="llm: context files sent with the prompt, in tokens")
    breaker_failures: int | None = Field(None, ge=1, description="consecutive failures that open the circuit (default 3)")
    breaker_cooldown: float | None = Field(None, ge=0, description="seconds the circuit stays open (default 300)")


class Budget(_Strict):
    """Per run; null = unlimited."""

    tokens: int | None = Field(None, ge=0)
    cost_usd: float | None = Field(None, ge=0)


def _default_tools() -> dict[str, ToolProfile]:
    return {
        # No `command`: the adapter's built-in one, which lets the agent edit the worktree.
        "claude": ToolProfile(max_workers=2, timeout=1800),
        "llm": ToolProfile(base_url="http://127.0.0.1:8000/v1", model="qwen2.5-coder", api_key_env="OPENAI_API_KEY"),
    }


class Config(_Strict):
    """`.uet/config.yaml`. Every key but `schema_version` is optional."""

    schema_version: Literal[1]
    target: str = Field("main", min_length=1, description="the branch the integrator keeps green")
    workstreams: str = Field("workstreams", min_length=1, description="folder of workstream specs")
    worktrees: str = Field(".worktrees", min_length=1, description="where workstream worktrees go")
    sparse_worktrees: bool = False
    workers: int = Field(3, ge=1)
    scope_overlap: Literal["serialize", "allow"] = "serialize"
    merge_drivers: Literal["refuse", "honor"] = Field(
        "refuse", description="refuse: a path whose attributes name a merge driver other than git's text merge is a "
        "conflict; honor: git's built-in union/binary/ours drivers decide (a custom driver is always a conflict)")
    max_fix_rounds: int = Field(3, ge=0)
    gate_timeout: int = Field(1800, ge=1, description="seconds a gate may run before its process group is killed")
    max_output_bytes: int = Field(1_000_000, ge=1024, description="output kept per gate or task (head and tail)")
    gates: dict[str, str] = Field(default_factory=lambda: {"unit": "python -m pytest -q"})
    integrate_gates: list[str] = Field(default_factory=list, description="default: every gate in `gates`")
    required_gates: list[str] | None = Field(
        None, description="run on every candidate whatever a spec's `gates:` says; null = integrate_gates")
    protect: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PROTECT),
        description="paths a patch touches only if its spec's scope names them (the specs folder always)")
    hook_gates: HookGates = Field(default_factory=HookGates)
    patch_policy: PatchPolicy = Field(default_factory=PatchPolicy)
    tools: dict[str, ToolProfile] = Field(default_factory=_default_tools)
    budget: Budget = Field(default_factory=Budget)

    @model_validator(mode="after")
    def _gates_exist(self) -> Config:
        # A key the user never wrote names only gates that exist: with `gates: {smoke: ...}`
        # and no `integrate_gates`, the default is [smoke], not a `unit` the user removed.
        if "integrate_gates" not in self.model_fields_set:
            self.integrate_gates = list(self.gates)
        if "pre_push" not in self.hook_gates.model_fields_set:
            self.hook_gates.pre_push = [name for name in self.integrate_gates if name in self.gates]
        lists: list[tuple[tuple[str, ...], list[str]]] = [
            (("integrate_gates",), self.integrate_gates),
            (("required_gates",), self.required_gates or []),
            (("hook_gates", "pre-commit"), self.hook_gates.pre_commit),
            (("hook_gates", "pre-push"), self.hook_gates.pre_push),
        ]
        known = ", ".join(sorted(self.gates)) or "none defined"
        errors: list[tuple[tuple[str | int, ...], str]] = [
            ((*where, i), f"unknown gate '{name}' (gates: {known})")
            for where, names in lists
            for i, name in enumerate(names)
            if name not in self.gates
        ]
        if errors:
            raise field_error(errors, "config")
        return self

    @property
    def mandatory_gates(self) -> list[str]:
        """The gates every candidate runs, whatever its spec says."""
        return list(self.integrate_gates if self.required_gates is None else self.required_gates)

    @property
    def protected(self) -> list[str]:
        """`protect`, plus the specs folder: a spec's `gates:` decide what lands, so a
        patch never edits specs unless its own scope names them."""
        specs = self.workstreams.strip("/") + "/**"
        return list(self.protect) + ([specs] if specs not in self.protect else [])


_CONFIG_TEMPLATE = """\
# git uet settings. Every key but schema_version is optional; the values below are the defaults
# (target: the branch checked out when `git uet init` ran).
schema_version: 1
target: {target}                    # the branch the integrator keeps green
workstreams: workstreams        # folder of workstream specs (*.yaml, *.yml, *.json)
worktrees: .worktrees           # where workstream worktrees go
sparse_worktrees: false         # true: a workstream with a scope gets a cone-sparse worktree
workers: 3
scope_overlap: serialize        # serialize | allow: workstreams whose declared scopes overlap never run at once
merge_drivers: refuse           # refuse | honor: may .gitattributes' merge=union/binary/ours decide a conflict
max_fix_rounds: 3               # how often a task's `fix` is re-run before the workstream fails
gate_timeout: 1800              # seconds; a gate's whole process group is killed past it
max_output_bytes: 1000000       # output kept per gate or task (first and last half)
gates:                          # name -> shell command, run at the worktree's root
  unit: python -m pytest -q
# Unset, these follow `gates`: integrate_gates runs every gate, pre-push runs integrate_gates.
# integrate_gates: [unit]       # run on every candidate before it lands on target (a spec's gates: replace them)
# hook_gates: {{pre-commit: [], pre-push: [unit]}}
required_gates: null            # run on every candidate whatever a spec says; null = integrate_gates
protect: [workstreams/**, .github/workflows/**, .github/actions/**, .gitlab-ci.yml, .gitlab/ci/**, .circleci/**,
          .travis.yml, azure-pipelines.yml, Jenkinsfile, .buildkite/**, bitbucket-pipelines.yml, .env, .env.*]
                                # touched only by a spec whose scope names them (see README); also the specs
                                # folder, files named by gate commands, .gitignore lines un-ignoring .env
patch_policy:
  max_files: 50
  max_lines: 2000               # added + removed
  allow_binary: false
  allow_symlinks: false
  allow_submodules: false
  allow_control_chars: false    # paths holding newline, tab, ESC...
  max_binary_bytes: 10485760    # each binary file's size once inflated
  forbid: [.gitattributes, .gitmodules, .lfsconfig]   # on top of .git/ and .uet/, always refused
  protect_tests: [tests/**, test_*.py, "*_test.py"]   # deleting or weakening them needs the spec's allow:
tools:                          # tool profiles for adapters (built-in defaults for aider, claude, codex, llm)
  claude: {{max_workers: 2, timeout: 1800}}   # command: built in (docs/agents.md says what each may do)
  llm: {{base_url: "http://127.0.0.1:8000/v1", model: "qwen2.5-coder", api_key_env: OPENAI_API_KEY}}
budget: {{tokens: null, cost_usd: null}}   # per run; null = unlimited
"""


def default_config_yaml(target: str = "main") -> str:
    """The commented config `git uet init` writes, keeping `target` green."""
    plain = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", target) is not None
    return _CONFIG_TEMPLATE.format(target=target if plain else json.dumps(target))


DEFAULT_CONFIG_YAML = default_config_yaml()


def load_config(repo_root: Path) -> Config:
    """The repository's config; the defaults when there is none yet (before `git uet init`)."""
    path = repo_root / CONFIG_PATH
    if not path.is_file():
        return Config(schema_version=1)
    return validate(Config, read_document(path, repo_root), path, repo_root)
