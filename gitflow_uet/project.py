"""A project: one repository with its config, its workstream specs and its ledger.

Each piece is loaded on first use, so a command pays only for what it touches.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitflow_uet.errors import UsageError
from gitflow_uet.git import Repo

if TYPE_CHECKING:
    from gitflow_uet.spec.config import Config
    from gitflow_uet.ledger.store import Ledger
    from gitflow_uet.spec.workstream import SpecFolder, Workstream


class Project:
    """Open with `Project.open()` and close when done (`with Project.open() as project:`):
    closing ends the repository's long-lived git reader."""

    def __init__(self, repo: Repo):
        self.repo = repo
        self.root: Path = repo.root

    @classmethod
    def open(cls, path: Path | str | None = None) -> Project:
        return cls(Repo.discover(path))

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.repo.close()

    @cached_property
    def config(self) -> Config:
        from gitflow_uet.workstream import secrets
        from gitflow_uet.spec.config import load_config

        # One rule for every command: the main worktree's file (`root`, from any worktree or
        # subfolder), as it is on disk; a workstream's worktree holds an older copy, or none.
        config = load_config(self.root)
        # From here on the keys the profiles give the tools are never stored or shown.
        secrets.hold_tool_keys(config.tools)
        return config

    @cached_property
    def spec_folder(self) -> SpecFolder:
        """Every spec that could be read, and one line per file that could not."""
        from gitflow_uet.spec.workstream import read_specs

        return read_specs(self.root / self.config.workstreams, self.root)

    @cached_property
    def specs(self) -> dict[str, Workstream]:
        """Every spec; a SpecError listing every broken file if any is (for plan, run)."""
        return self.spec_folder.strict()

    def spec(self, ws_id: str) -> Workstream:
        try:
            return self.specs[ws_id]
        except KeyError:
            raise UsageError(f"unknown workstream {ws_id!r} (no spec with that id in {self.config.workstreams}/)") from None

    @cached_property
    def settings(self) -> dict[str, Any]:
        """The validated config as plain data, from the cache when the file is unchanged."""
        from gitflow_uet.ledger.cache import cached, file_key

        config_file = self.root / ".uet" / "config.yaml"
        return cached(self.repo.uet_dir / "cache", "config", file_key([config_file]),
                      lambda: self.config.model_dump(mode="json", by_alias=True))

    def spec_titles(self) -> dict[str, str]:
        """id -> title of every spec that can be read, from the cache when no spec file
        changed. Reading commands use it: one broken spec must not hide the others."""
        return dict(self._spec_index()["titles"])

    def spec_problems(self) -> list[str]:
        """One line per spec file that cannot be read, then the warnings about the others."""
        index = self._spec_index()
        return [*index["errors"], *index["warnings"]]

    def _spec_index(self) -> dict[str, Any]:
        from gitflow_uet.ledger.cache import cached, file_key

        folder = self.root / self.settings["workstreams"]
        if not folder.is_dir():
            return {"titles": {}, "errors": [], "warnings": []}
        files = [p for p in folder.iterdir() if p.suffix in {".yaml", ".yml", ".json"}]

        def build() -> dict[str, Any]:
            found = self.spec_folder
            return {"titles": {ws_id: spec.title for ws_id, spec in found.specs.items()},
                    "errors": found.errors, "warnings": found.warnings}

        return cached(self.repo.uet_dir / "cache", "spec-index", file_key([folder, *files]), build)

    @cached_property
    def ledger(self) -> Ledger:
        from gitflow_uet.ledger.store import Ledger

        return Ledger(self.repo)

    @property
    def target_ref(self) -> str:
        """The full ref of the branch the integrator keeps green."""
        return f"refs/heads/{self.config.target}"

    def require_target(self) -> str:
        """The target's tip; a UsageError naming the branches there are when it is missing
        (a `target: main` in a repository on `master` must stop a run, not run nothing)."""
        tip = self.repo.read_ref(self.target_ref)
        if tip is None:
            from gitflow_uet.git.refs import refs_under

            names = sorted(ref.removeprefix("refs/heads/") for ref in refs_under(self.repo, "refs/heads/")
                           if not ref.startswith("refs/heads/uet/"))
            have = f"branches: {', '.join(names)}" if names else "the repository has no branch yet"
            raise UsageError(f"the target branch {self.config.target!r} does not exist "
                             f"(target: in .uet/config.yaml; {have})")
        return tip

    @property
    def worktrees_dir(self) -> Path:
        return self.root / self.config.worktrees
