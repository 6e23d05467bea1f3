"""docs/ is the user-facing contract: it names every command, config key and spec field that
exists, and its links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items() if not name.endswith("_")]


def test_every_config_key_is_documented() -> None:
    from gitflow_uet.spec.config import Config, PatchPolicy, ToolProfile

    text = (DOCS / "config.md").read_text()
    missing = [key for model in (Config, PatchPolicy, ToolProfile) for key in keys(model) if f"`{key}`" not in text]
    assert not missing, f"docs/config.md does not document: {missing}"


def test_every_spec_field_is_documented() -> None:
    from gitflow_uet.spec.workstream import Task, Workstream

    text = (DOCS / "specs.md").read_text()
    missing = [key for model in (Workstream, Task) for key in keys(model) if f"`{key}`" not in text]
    assert not missing, f"docs/specs.md does not document: {missing}"


def test_every_command_is_documented() -> None:
    from gitflow_uet.cli import COMMANDS, HIDDEN

    text = (DOCS / "commands.md").read_text()
    missing = [name for _, name, _ in COMMANDS if name not in HIDDEN and f"`git uet {name}" not in text]
    assert not missing, f"docs/commands.md does not document: {missing}"


def test_links_between_pages_resolve() -> None:
    pages = [*DOCS.glob("*.md"), ROOT / "README.md", ROOT / "ARCHITECTURE.md"]
    broken = [(page.name, target) for page in pages
              for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text())
              if not (page.parent / target).exists()]
    assert not broken, broken
    assert "DESIGN.md" not in (ROOT / "ARCHITECTURE.md").read_text()
