"""`git uet init`: the files a repository needs, written once."""

from __future__ import annotations

from dataclasses import dataclass, field

from gitflow_uet.project import Project


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created)


def initialize(project: Project) -> InitResult:
    """Write `.uet/config.yaml` (commented defaults, `target:` the branch checked out),
    create the workstreams folder and exclude the worktrees folder. Idempotent: what exists
    is left exactly as it is."""
    from gitflow_uet.spec.config import default_config_yaml
    from gitflow_uet.git.refs import current_branch

    result = InitResult()
    config_path = project.root / ".uet" / "config.yaml"
    if not config_path.exists():
        config_path.parent.mkdir(parents=True, exist_ok=True)
        # A repository on `master` (or `trunk`) keeps that branch green, not a `main` it lacks.
        config_path.write_text(default_config_yaml(current_branch(project.repo) or "main"))
        result.created.append(".uet/config.yaml")
    config = project.config
    folder = project.root / config.workstreams
    if not folder.exists():
        folder.mkdir(parents=True)
        result.created.append(f"{config.workstreams}/")
    exclude = project.repo.common_dir / "info" / "exclude"
    line = "/" + config.worktrees.strip("/") + "/"
    existing = exclude.read_text().splitlines() if exclude.exists() else []
    if line not in existing:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with exclude.open("a") as fh:
            if existing and existing[-1] != "":
                fh.write("\n")
            fh.write(line + "\n")
        result.created.append(f"{line} in .git/info/exclude")
    return result
