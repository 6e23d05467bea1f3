"""The default tool: a task's `run` command, through /bin/sh, at the worktree's root."""

from __future__ import annotations

from typing import Any

from gitflow_uet import process
from gitflow_uet.run.adapters import TaskResult, TaskRun, limits, result_from_process, task_env


class ShellAdapter:
    name = "shell"

    def __init__(self, profile: Any = None):
        self.profile = profile

    def run(self, task: TaskRun) -> TaskResult:
        if not task.run:
            return TaskResult.failure(f"task {task.task_id!r} has no run command")
        timeout, max_output = limits(task, self.profile)
        done = process.run(task.run, cwd=task.worktree, env=task_env(task, self.profile),
                           timeout=timeout, max_output=max_output)
        return result_from_process(done)
