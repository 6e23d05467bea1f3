"""A project: one repository with its config, its workstream specs and its ledger.

Each piece is loaded on first use, so a command pays only for what it touches.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from gitflow_uet.errors import UsageError
from gitflow_uet.git import Repo

if TYPE_CHECKING:
    from gitflow_uet.config import Config
    from gitflow_uet.ledger import Ledger
    from gitflow_uet.spec import Workstream


class Project:
    def __init__(self, repo: Repo):
        self.repo = repo
        self.root: Path = repo.root

    @classmethod
    def open(cls, path: Path | str | None = None) -> Project:
        return cls(Repo.discover(path))

    @cached_property
    def config(self) -> Config:
        from gitflow_uet.config import load_config

        return load_config(self.root)

    @cached_property
    def specs(self) -> dict[str, Workstream]:
        from gitflow_uet.spec import load_specs

        return load_specs(self.root / self.config.workstreams, self.root)

    def spec(self, ws_id: str) -> Workstream:
        try:
            return self.specs[ws_id]
        except KeyError:
            raise UsageError(f"unknown workstream {ws_id!r} (no spec with that id in {self.config.workstreams}/)") from None

    @cached_property
    def ledger(self) -> Ledger:
        from gitflow_uet.ledger import Ledger

        return Ledger(self.repo)

    @property
    def worktrees_dir(self) -> Path:
        return self.root / self.config.worktrees
