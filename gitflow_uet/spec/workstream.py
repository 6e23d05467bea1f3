"""Workstream specs (`workstreams/*.yaml|*.yml|*.json`): what to change, how, and after what."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gitflow_uet.spec.config import PolicyOverride
from gitflow_uet.errors import SpecError
from gitflow_uet.spec.documents import display_path, field_error, read_document, validate

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
# `uet/quarantine/<id>` holds quarantined branches, so `uet/quarantine` cannot be a workstream's.
RESERVED_IDS = frozenset({"quarantine"})
ToolName = Literal["shell", "aider", "claude", "codex", "llm"]
Permission = Literal["delete_tests", "weaken_tests"]
AGENT_TOOLS = tuple(name for name in get_args(ToolName) if name != "shell")


class Priority(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"

    @property
    def rank(self) -> int:
        """0 for CRITICAL .. 3 for LOW: sorting by rank puts the most urgent first."""
        return list(Priority).index(self)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Task(_Strict):
    """One step run in order inside the workstream's worktree."""

    id: str = Field(pattern=ID_PATTERN, max_length=64)
    tool: ToolName = "shell"
    run: str | None = Field(None, description="shell: the command; agents: overrides the tool's command")
    prompt: str | None = Field(None, description="agents: what to ask for")
    timeout: int = Field(600, ge=1, description="seconds; the process group is killed past it")
    retries: int = Field(0, ge=0)
    estimate: float | None = Field(None, ge=0, description="seconds; weights the critical path")
    fix: str | None = Field(None, description="on failure, re-run this task with the output, up to max_fix_rounds")
    env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _command_given(self) -> Task:
        if self.tool == "shell":
            if not self.run:
                raise field_error([(("run",), "a shell task needs 'run'")])
            if self.prompt is not None:
                raise field_error([(("prompt",), "'prompt' is for agent tools; a shell task has only 'run'")])
        elif not (self.prompt or self.run):
            needs = f"a task with tool '{self.tool}' needs 'prompt' (or 'run' to override its command)"
            raise field_error([(("prompt",), needs)])
        return self


class WorkstreamBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: int | None = Field(None, ge=0)
    cost_usd: float | None = Field(None, ge=0)


class Workstream(_Strict):
    """One unit of change: a branch, a worktree, a patch, landed as one commit."""

    schema_: str | None = Field(None, alias="$schema", exclude=True, description="ignored; for editors")
    id: str = Field(pattern=ID_PATTERN, max_length=64)
    title: str = Field(min_length=1)
    depends_on: list[str] = Field(default_factory=list, description="ids integrated before this one starts")
    priority: Priority = Priority.MEDIUM
    scope: list[str] | None = Field(None, description="globs the patch may touch; absent = anywhere")
    context: list[str] = Field(default_factory=list, description="extra paths an agent may read")
    resources: list[str] = Field(default_factory=list, description="exclusive resources")
    tasks: list[Task] = Field(default_factory=list)
    gates: list[str] | None = Field(None, description="replaces integrate_gates for this workstream "
                                    "(required_gates still run)")
    allow: list[Permission] = Field(default_factory=list, description="what this patch may do that policy "
                                    "refuses by default: delete_tests, weaken_tests")
    policy: PolicyOverride | None = Field(None, description="narrows patch_policy for this workstream")
    budget: WorkstreamBudget | None = Field(None, description="token/cost budget for this workstream's tasks")

    _source: Path | None = PrivateAttr(None)
    _where: str | None = PrivateAttr(None)

    @field_validator("id")
    @classmethod
    def _id_is_a_branch_name(cls, value: str) -> str:
        if value in RESERVED_IDS:
            raise PydanticCustomError("uet", "'{id}' is reserved", {"id": value})
        # The id becomes `refs/heads/uet/<id>`; git refuses these (git check-ref-format).
        if ".." in value or value.endswith((".", ".lock")):
            raise PydanticCustomError(
                "uet", "'{id}' cannot be a branch name ('..', or ending in '.' or '.lock')", {"id": value}
            )
        return value

    @field_validator("scope", "context")
    @classmethod
    def _repo_relative(cls, patterns: list[str] | None) -> list[str] | None:
        # Scope and context are matched against repository paths; an absolute or escaping
        # pattern would silently match nothing (or something outside the worktree).
        errors: list[tuple[tuple[str | int, ...], str]] = [
            ((i,), f"'{pattern}' must be a path or glob relative to the repository root")
            for i, pattern in enumerate(patterns or [])
            if not pattern or pattern.startswith("/") or ".." in pattern.split("/")
        ]
        if errors:
            raise field_error(errors)
        return patterns

    @model_validator(mode="after")
    def _cross_checks(self) -> Workstream:
        errors: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        for i, dep in enumerate(self.depends_on):
            if dep == self.id:
                errors.append((("depends_on", i), f"workstream '{dep}' depends on itself"))
            elif dep in seen:
                errors.append((("depends_on", i), f"'{dep}' is listed twice"))
            seen.add(dep)
        task_ids: set[str] = set()
        for i, task in enumerate(self.tasks):
            if task.id in task_ids:
                errors.append((("tasks", i, "id"), f"duplicate task id '{task.id}'"))
            task_ids.add(task.id)
        for i, task in enumerate(self.tasks):
            if task.fix is not None and task.fix not in task_ids:
                errors.append((("tasks", i, "fix"), f"unknown task '{task.fix}' in this workstream"))
        if errors:
            raise field_error(errors, "workstream")
        return self

    @property
    def priority_rank(self) -> int:
        return self.priority.rank

    @property
    def source(self) -> Path | None:
        """The file this spec was read from, if any."""
        return self._source

    @property
    def where(self) -> str:
        """How messages name this spec: its file relative to the repository root."""
        return self._where or f"workstream '{self.id}'"


@dataclass
class SpecFolder:
    """Every spec of a folder that could be read, with what could not (one line per file,
    naming it) and warnings about the ones read."""

    specs: dict[str, Workstream] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def strict(self) -> dict[str, Workstream]:
        """The specs, or a SpecError listing every broken file (one line each)."""
        if len(self.errors) == 1:
            raise SpecError(self.errors[0])
        if self.errors:
            raise SpecError(f"{len(self.errors)} invalid specs:\n  " + "\n  ".join(self.errors))
        return self.specs


def read_specs(folder: Path, repo_root: Path) -> SpecFolder:
    """Read every spec in `folder` (not recursive); a broken file is reported, not fatal,
    so reading commands can show everything else."""
    found = SpecFolder()
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        # Dotfiles are editor leftovers (emacs `.#x.yaml` locks are dangling symlinks).
        if path.name.startswith(".") or path.suffix not in SPEC_SUFFIXES or not path.is_file():
            continue
        where = display_path(path, repo_root)
        try:
            document = read_document(path, repo_root)
            if document is None:
                raise SpecError(f"{where}: empty spec (a spec needs at least 'id' and 'title')")
            ws = validate(Workstream, document, path, repo_root)
        except SpecError as err:
            found.errors.append(str(err))
            continue
        ws._source, ws._where = path, where
        if ws.id in found.specs:
            found.errors.append(f"{ws.where}: id: workstream '{ws.id}' is already defined in {found.specs[ws.id].where}")
            continue
        if path.stem != ws.id:
            found.warnings.append(f"{ws.where}: the file name differs from its id '{ws.id}' "
                                  f"(commands and branches use the id: uet/{ws.id})")
        found.specs[ws.id] = ws
    return found


def load_specs(folder: Path, repo_root: Path) -> dict[str, Workstream]:
    """Every spec in `folder`, keyed by id; a missing folder has none. Any broken file is a
    SpecError listing every broken file (one line each)."""
    return read_specs(folder, repo_root).strict()


def estimate(ws: Workstream) -> float:
    """Expected seconds: the tasks' estimates summed, or 1.0 when none has one (so an
    unestimated DAG's critical path is simply its longest chain)."""
    known = [task.estimate for task in ws.tasks if task.estimate is not None]
    return float(sum(known)) if known else 1.0
