from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gitflow_uet.records import LedgerEntry
from gitflow_uet.schemas import describe, generate_schemas, schema_folders, schema_text, spec_error

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NAMES = ["config", "workstream", "ledger-entry"]


@pytest.mark.parametrize("folder", schema_folders(PROJECT_ROOT), ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix())
@pytest.mark.parametrize("name", NAMES)
def test_committed_schema_is_current(folder: Path, name: str) -> None:
    path = folder / f"{name}.schema.json"
    fresh = schema_text(generate_schemas()[name])
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    assert current == fresh, f"{path.relative_to(PROJECT_ROOT)} is stale: run `python -m gitflow_uet.schemas`"


def test_schemas_describe_the_files() -> None:
    schemas = generate_schemas()
    assert sorted(schemas) == sorted(NAMES)
    assert schemas["config"]["required"] == ["schema_version"]
    assert schemas["config"]["additionalProperties"] is False
    assert {"id", "title", "tasks", "$schema"} <= set(schemas["workstream"]["properties"])
    assert {"from", "to", "kind", "fields"} <= set(schemas["ledger-entry"]["properties"])


def test_error_names_file_relative_to_root_and_lists_the_rest(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        LedgerEntry.model_validate({"kind": "patch", "id": "", "to": "queued", "event": "submit", "time": "later"})
    assert describe(info.value).startswith("id: String should have at least 1 character; time: ")
    message = str(spec_error(info.value, tmp_path / "sub" / "x.yaml", tmp_path))
    assert message.startswith("sub/x.yaml: id: String should have at least 1 character; time: ")


def test_ledger_entry_uses_trailer_names() -> None:
    entry = LedgerEntry.model_validate({"kind": "workstream", "id": "ws-001", "from": "planned", "to": "running",
                                        "event": "start", "time": "2024-05-01T12:00:00+00:00"})
    assert (entry.from_state, entry.to_state, entry.fields) == ("planned", "running", {})
    assert entry.model_dump(by_alias=True)["from"] == "planned"
    with pytest.raises(ValidationError, match="time"):
        LedgerEntry(kind="run", id="r", to_state="running", event="begin", time="yesterday")
