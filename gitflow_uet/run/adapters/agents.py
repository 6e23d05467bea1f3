"""Coding agents driven by a command line: aider, Claude Code, Codex.

Each has a built-in command template, replaced by the profile's `command` when set. The
template is a shell command with placeholders, each substituted already shell-quoted:

    {prompt}       the prompt text
    {prompt_file}  a file holding the prompt (outside the worktree, removed afterwards)
    {context}      the task's context files, relative to the worktree
    {worktree}     the worktree's absolute path

Any other `{...}` is left as written, so templates may hold literal braces. The agent runs
at the worktree's root through process.run, like every user command.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gitflow_uet import process
from gitflow_uet.run.adapters import TaskResult, TaskRun, Usage, limits, one_line, result_from_process, task_env

# Each may edit files in the worktree (its working directory) without asking, and nothing
# more: a non-interactive agent that asks is an agent that does nothing (docs/agents.md).
#   claude: -p alone may not write files; acceptEdits approves edits in the working
#           directory, while shell commands and web access stay unapproved (so refused).
#   aider:  --yes-always answers its confirmations; --no-suggest-shell-commands keeps that
#           yes from running the shell commands it proposes; git commits stay ours.
#   codex:  `exec` runs in a read-only sandbox by default; workspace-write allows writes
#           in the working directory (and temp dirs), no network.
DEFAULT_COMMANDS = {
    "claude": "claude -p {prompt} --permission-mode acceptEdits --output-format json",
    "aider": "aider --yes-always --no-auto-commits --no-suggest-shell-commands --message {prompt} {context}",
    "codex": "codex exec --sandbox workspace-write {prompt}",
}

_PLACEHOLDER = re.compile(r"\{(prompt|prompt_file|context|worktree)\}")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# First words we cannot look up on PATH: the shell itself resolves them.
_SHELL_WORDS = {"cd", "exec", "command", "export", "set", "if", "for", "while", "case", "(",
                "{", "!", ":", ".", "source", "eval", "true", "false", "test", "["}


class AgentAdapter:
    def __init__(self, name: str, profile: Any = None):
        self.name = name
        self.profile = profile
        self.template = getattr(profile, "command", None) or DEFAULT_COMMANDS[name]

    def run(self, task: TaskRun) -> TaskResult:
        if not task.prompt:
            return TaskResult.failure(f"task {task.task_id!r} has no prompt for {self.name}")
        env = task_env(task, self.profile)
        missing = self._missing_executable(env.get("PATH", ""), task.worktree)
        if missing is not None:
            return TaskResult.failure(missing)
        timeout, max_output = limits(task, self.profile)
        prompt = compose_prompt(task)
        # The prompt file lives outside the worktree so it never becomes part of the patch.
        with tempfile.TemporaryDirectory(prefix="uet-prompt-") as tmp:
            prompt_file = Path(tmp) / "prompt.md"
            prompt_file.write_text(prompt, encoding="utf-8")
            command = render(self.template, prompt=prompt, prompt_file=prompt_file,
                             context=task.context_files, worktree=task.worktree)
            env["UET_PROMPT_FILE"] = str(prompt_file)
            done = process.run(command, cwd=task.worktree, env=env, timeout=timeout,
                               max_output=max_output)
        doc = json_document(done.output)
        result = result_from_process(done, usage=Usage.from_report(doc))
        if result.ok and doc is not None and doc.get("is_error") is True:
            # Claude Code can exit 0 and still report a failed session (e.g. max turns).
            detail = doc.get("subtype") or doc.get("result") or "error"
            result.ok, result.error = False, one_line(f"{self.name} reported an error: {detail}")
        return result

    def _missing_executable(self, path: str, worktree: Path) -> str | None:
        """The error for a command whose program cannot be found, checked before running it
        so that the failure says so instead of the shell's `not found` with exit 127."""
        try:
            words = shlex.split(self.template)
        except ValueError as exc:
            return f"tool {self.name!r}: bad command template ({exc})"
        words = [w for w in words if not _ASSIGNMENT.match(w)] or [""]
        program = words[0]
        if not program or program in _SHELL_WORDS or _PLACEHOLDER.search(program):
            return None
        if "/" in program:
            found = os.access(worktree / program, os.X_OK)
        else:
            found = shutil.which(program, path=path) is not None
        if found:
            return None
        if program == self.name:
            return f"tool {self.name!r} not found on PATH"
        return f"tool {self.name!r} not found on PATH: {program}"


def compose_prompt(task: TaskRun) -> str:
    """The task's prompt plus what the agent should know about this round."""
    parts = [(task.prompt or "").strip()]
    if task.scope is not None:
        parts.append("Only change files matching: " + ", ".join(task.scope))
    if task.context_files:
        parts.append("Read these files first: " + ", ".join(task.context_files))
    if task.feedback_file is not None:
        parts.append(f"The previous attempt failed; its output is in {task.feedback_file}. "
                     "Read it and fix the cause.")
    return "\n\n".join(parts) + "\n"


def render(template: str, *, prompt: str, prompt_file: Path, context: list[str], worktree: Path) -> str:
    # A path starting with '-' would be read as an option by the agent's argument parser.
    paths = ["./" + p if p.startswith("-") else p for p in context]
    values = {
        "prompt": shlex.quote(prompt),
        "prompt_file": shlex.quote(str(prompt_file)),
        "context": " ".join(shlex.quote(p) for p in paths),
        "worktree": shlex.quote(str(worktree)),
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def json_document(output: bytes) -> dict[str, Any] | None:
    """The JSON object an agent printed, if any. Output is stdout and stderr merged, so
    the document may sit among log lines; stream formats end with a result line."""
    text = output.decode("utf-8", "replace").strip()
    if not text:
        return None
    candidates = [text]
    candidates += [ln for ln in reversed(text.splitlines()) if ln.lstrip().startswith("{")]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            doc = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(doc, dict):
            return doc
    return None
