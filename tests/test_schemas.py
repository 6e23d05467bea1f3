from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gitflow_uet.ledger.records import LedgerEntry
from gitflow_uet.spec.documents import describe, generate_schemas, schema_folders, schema_text, spec_error

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NAMES = ["config", "workstream", "ledger-entry", "ledger-record"]


@pytest.mark.parametrize("folder", schema_folders(PROJECT_ROOT), ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix())
@pytest.mark.parametrize("name", NAMES)
def test_committed_schema_is_current(folder: Path, name: str) -> None:
    path = folder / f"{name}.schema.json"
    fresh = schema_text(generate_schemas()[name])
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    assert current == fresh, f"{path.relative_to(PROJECT_ROOT)} is stale: run `python -m gitflow_uet.spec.documents`"


def test_schemas_describe_the_files() -> None:
    schemas = generate_schemas()
    assert sorted(schemas) == sorted(NAMES)
    assert schemas["config"]["required"] == ["schema_version"]
    assert schemas["config"]["additionalProperties"] is False
    assert {"id", "title", "tasks", "$schema"} <= set(schemas["workstream"]["properties"])
    assert {"from", "to", "kind", "patch", "commit"} <= set(schemas["ledger-entry"]["properties"])
    assert {"kind", "id", "state", "created", "updated"} <= set(schemas["ledger-record"]["required"])


def test_error_names_file_relative_to_root_and_lists_the_rest(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        LedgerEntry.model_validate({"kind": "patch", "id": "", "to": "queued", "event": "submit", "time": "later"})
    assert describe(info.value).startswith("id: String should have at least 1 character; time: ")
    message = str(spec_error(info.value, tmp_path / "sub" / "x.yaml", tmp_path))
    assert message.startswith("sub/x.yaml: id: String should have at least 1 character; time: ")


def test_ledger_entry_uses_trailer_names() -> None:
    entry = LedgerEntry.model_validate({"kind": "workstream", "id": "ws-001", "from": "planned", "to": "running",
                                        "event": "start", "time": "2024-05-01T12:00:00+00:00"})
    assert (entry.from_state, entry.to_state, entry.patch) == ("planned", "running", None)
    assert entry.model_dump(by_alias=True)["from"] == "planned"
    with pytest.raises(ValidationError, match="time"):
        LedgerEntry(kind="run", id="r", to_state="running", event="begin", time="yesterday")


def test_schemas_accept_what_a_real_run_writes(tmp_path: Path) -> None:
    """Issue 7 item 12: the shipped ledger-entry schema declared the trailer's identifiers
    nested under `fields` with no extra keys allowed, so real entries failed it. Validate
    every `Uet-Entry` trailer and every record of a real run (one workstream landed, one
    quarantined by its gate, one refused at submit) with the shipped files."""
    import json
    import sys

    import jsonschema
    import yaml

    from tests.helpers import git, make_repo, uet, write, write_spec

    repo = make_repo(tmp_path / "repo", {"README.md": "hello\n", "check.py": "import sys, os\n"
                                         "sys.exit(1 if os.path.exists('bad.txt') else 0)\n"})
    write(repo / ".uet" / "config.yaml", yaml.safe_dump({
        "schema_version": 1, "gates": {"unit": f"{sys.executable} check.py"}, "integrate_gates": ["unit"],
        "hook_gates": {"pre-commit": [], "pre-push": []}}))
    write_spec(repo, "good", tasks=[{"id": "edit", "run": "echo ok > good.txt"}])
    write_spec(repo, "red", tasks=[{"id": "edit", "run": "echo bad > bad.txt"}])
    write_spec(repo, "out", scope=["src/**"], tasks=[{"id": "edit", "run": "echo x > outside.txt"}])
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "specs")
    ran = uet(repo, "run", "--workers", "2")
    assert ran.returncode == 1, ran.stdout + ran.stderr  # two of three were refused

    shipped = PROJECT_ROOT / "schema"
    entry_schema = json.loads((shipped / "ledger-entry.schema.json").read_text())
    record_schema = json.loads((shipped / "ledger-record.schema.json").read_text())
    bodies = [b for b in git(repo, "log", "--format=%B%x00", "refs/uet").split("\0") if b.strip()]
    entries = [json.loads(line.split(":", 1)[1]) for body in bodies for line in body.splitlines()
               if line.startswith("Uet-Entry:")]
    assert {e["kind"] for e in entries} >= {"workstream", "patch", "worker", "run"}
    assert any("patch" in e for e in entries) and any("commit" in e for e in entries)
    for entry in entries:
        jsonschema.validate(entry, entry_schema)
    listing = git(repo, "ls-tree", "-r", "--name-only", "refs/uet").splitlines()
    records = [json.loads(git(repo, "cat-file", "blob", f"refs/uet:{path}")) for path in listing
               if path.split("/")[0] in ("workstreams", "patches", "workers", "runs")]
    assert {r["kind"] for r in records} == {"workstream", "patch", "worker", "run"}
    for record in records:
        jsonschema.validate(record, record_schema)
    states = {r["id"]: r["state"] for r in records if r["kind"] == "workstream"}
    assert states == {"good": "integrated", "red": "quarantined", "out": "quarantined"}
    # and the files a user writes validate against theirs
    config_schema = json.loads((shipped / "config.schema.json").read_text())
    jsonschema.validate(yaml.safe_load((repo / ".uet" / "config.yaml").read_text()), config_schema)
    spec_schema = json.loads((shipped / "workstream.schema.json").read_text())
    for spec in (repo / "workstreams").glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(spec.read_text()), spec_schema)
