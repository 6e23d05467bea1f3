from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from gitflow_uet.spec.config import PatchPolicy
from gitflow_uet.errors import SpecError
from gitflow_uet.spec.workstream import Priority, Workstream, estimate, load_specs

GOOD = """\
id: ws-001
title: Add a greeting
depends_on: []
priority: HIGH
scope: ["src/greet/**", "tests/test_greet.py"]
tasks:
  - id: edit
    run: python tools/add_greeting.py
    estimate: 30
  - id: check
    run: python -m pytest -q tests/test_greet.py
    fix: edit
gates: [unit]
policy: {max_lines: 400}
"""


def write_spec(root: Path, name: str, text: str) -> Path:
    path = root / "workstreams" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load(root: Path) -> dict[str, Workstream]:
    return load_specs(root / "workstreams", root)


def spec_error(root: Path, text: str, name: str = "ws-003.yaml") -> str:
    write_spec(root, name, text)
    with pytest.raises(SpecError) as info:
        load(root)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_good_spec_loads_with_design_defaults(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "ws-001.yaml", GOOD)
    ws = load(tmp_path)["ws-001"]
    assert ws.priority is Priority.HIGH and ws.priority_rank == 1
    assert [t.tool for t in ws.tasks] == ["shell", "shell"]
    assert [t.timeout for t in ws.tasks] == [600, 600]
    assert ws.tasks[1].fix == "edit" and ws.tasks[0].retries == 0 and ws.tasks[0].env == {}
    assert ws.scope == ["src/greet/**", "tests/test_greet.py"]
    assert ws.context == [] and ws.resources == []
    assert ws.source == path and ws.where == "workstreams/ws-001.yaml"
    assert PatchPolicy().narrowed(ws.policy).max_lines == 400


def test_defaults_for_a_minimal_spec(tmp_path: Path) -> None:
    write_spec(tmp_path, "a.yml", "id: a\ntitle: A\n")
    ws = load(tmp_path)["a"]
    assert ws.priority is Priority.MEDIUM and ws.priority_rank == 2
    assert ws.scope is None and ws.gates is None and ws.policy is None and ws.tasks == []


def test_priority_ranks_order_most_urgent_first() -> None:
    assert sorted(Priority, key=lambda p: p.rank) == [Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW]


def test_json_spec_accepted_and_schema_key_ignored(tmp_path: Path) -> None:
    doc = {"$schema": "../schema/workstream.schema.json", "id": "j", "title": "From JSON",
           "tasks": [{"id": "t", "tool": "claude", "prompt": "do it"}]}
    (tmp_path / "workstreams").mkdir()
    (tmp_path / "workstreams" / "j.json").write_text(json.dumps(doc))
    ws = load(tmp_path)["j"]
    assert ws.tasks[0].tool == "claude"
    assert "$schema" not in ws.model_dump(by_alias=True)


def test_reads_sorted_non_recursive_and_only_spec_suffixes(tmp_path: Path) -> None:
    write_spec(tmp_path, "b.yaml", "id: b\ntitle: B\n")
    write_spec(tmp_path, "a.json", '{"id": "a", "title": "A"}')
    write_spec(tmp_path, "c.yml", "id: c\ntitle: C\n")
    write_spec(tmp_path, "notes.txt", "not: a spec\n")
    write_spec(tmp_path, "nested/d.yaml", "id: d\ntitle: D\n")
    assert list(load(tmp_path)) == ["a", "b", "c"]


def test_missing_folder_is_empty(tmp_path: Path) -> None:
    assert load_specs(tmp_path / "nowhere", tmp_path) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id: a\ntitle: A\ncolour: red\n", "workstreams/ws-003.yaml: colour: Extra inputs are not permitted"),
        ("id: A_1\ntitle: A\n", "workstreams/ws-003.yaml: id: String should match pattern"),
        (f"id: {'a' * 65}\ntitle: A\n", "workstreams/ws-003.yaml: id: String should have at most 64 characters"),
        ("id: quarantine\ntitle: Q\n", "workstreams/ws-003.yaml: id: 'quarantine' is reserved"),
        ("id: a.lock\ntitle: A\n", "workstreams/ws-003.yaml: id: 'a.lock' cannot be a branch name"),
        ("id: a\n", "workstreams/ws-003.yaml: title: Field required"),
        ("id: a\ntitle: A\npriority: URGENT\n", "workstreams/ws-003.yaml: priority: Input should be 'CRITICAL'"),
        ("id: a\ntitle: A\ntasks: [{id: t, run: x, timeout: soon}]\n",
         "workstreams/ws-003.yaml: tasks.0.timeout: Input should be a valid integer"),
        ("id: a\ntitle: A\ntasks: [{id: t, run: x}, {id: u}]\n",
         "workstreams/ws-003.yaml: tasks.1.run: a shell task needs 'run'"),
        ("id: a\ntitle: A\ntasks: [{id: t, tool: aider}]\n",
         "workstreams/ws-003.yaml: tasks.0.prompt: a task with tool 'aider' needs 'prompt'"),
        ("id: a\ntitle: A\ntasks: [{id: t, tool: gpt, prompt: p}]\n", "workstreams/ws-003.yaml: tasks.0.tool: Input should be"),
        ("id: a\ntitle: A\ntasks: [{id: t, run: x}, {id: t, run: y}]\n",
         "workstreams/ws-003.yaml: tasks.1.id: duplicate task id 't'"),
        ("id: a\ntitle: A\ntasks: [{id: t, run: x, fix: edit}]\n",
         "workstreams/ws-003.yaml: tasks.0.fix: unknown task 'edit' in this workstream"),
        ("id: a\ntitle: A\ndepends_on: [a]\n", "workstreams/ws-003.yaml: depends_on.0: workstream 'a' depends on itself"),
        ("id: a\ntitle: A\nscope: [src, /etc/passwd]\n", "workstreams/ws-003.yaml: scope.1: '/etc/passwd' must be a path"),
        ("id: a\ntitle: A\ncontext: [../secrets]\n", "workstreams/ws-003.yaml: context.0: '../secrets' must be a path"),
        ("id: a\ntitle: A\npolicy: {max_lines: lots}\n", "workstreams/ws-003.yaml: policy.max_lines: Input should be a valid integer"),
        ("id: a\ntitle: A\npolicy: {max_bytes: 3}\n", "workstreams/ws-003.yaml: policy.max_bytes: Extra inputs are not permitted"),
        ("id: a\ntitle: A\nschema_: x\n", "workstreams/ws-003.yaml: schema_: Extra inputs are not permitted"),
        ("- id: a\n", "workstreams/ws-003.yaml: Input should be a valid dictionary"),
    ],
)
def test_bad_spec_names_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    assert spec_error(tmp_path, text).startswith(expected)


def test_several_errors_are_all_listed_on_one_line(tmp_path: Path) -> None:
    message = spec_error(tmp_path, "id: a\ntitle: A\ntasks: [{id: t, run: x}, {id: t, run: y}, {id: t, run: z}]\n")
    assert message == ("workstreams/ws-003.yaml: tasks.1.id: duplicate task id 't'; "
                       "tasks.2.id: duplicate task id 't'")


def test_every_broken_file_is_listed(tmp_path: Path) -> None:
    write_spec(tmp_path, "a.yaml", "id: a\ntitle: A\ncolour: red\n")
    write_spec(tmp_path, "b.yaml", "id: b\n")
    write_spec(tmp_path, "c.yaml", "id: c\ntitle: C\n")
    with pytest.raises(SpecError) as info:
        load(tmp_path)
    assert str(info.value).splitlines() == [
        "2 invalid specs:",
        "  workstreams/a.yaml: colour: Extra inputs are not permitted",
        "  workstreams/b.yaml: title: Field required",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    # Issue 9.6: a YAML boolean where a command was meant.
    ("id: a\ntitle: A\ntasks: [{id: t, run: true}]\n",
     "workstreams/a.yaml: tasks.0.run: Input should be a valid string (YAML read an unquoted "
     "true/yes/no/on/off as a boolean: quote it, e.g. run: \"true\")"),
    ("id: a\ntitle: A\ndepend_on: [b]\n",
     "workstreams/a.yaml: depend_on: Extra inputs are not permitted (did you mean 'depends_on'?)"),
    ("id: a\ntitle: A\ntasks: [{id: t, run: x, timout: 5}]\n",
     "workstreams/a.yaml: tasks.0.timout: Extra inputs are not permitted (did you mean 'timeout'?)"),
    ("", "workstreams/a.yaml: empty spec (a spec needs at least 'id' and 'title')"),
    ("# nothing yet\n", "workstreams/a.yaml: empty spec (a spec needs at least 'id' and 'title')"),
])
def test_spec_messages_say_what_to_do(tmp_path: Path, text: str, expected: str) -> None:
    assert spec_error(tmp_path, text, name="a.yaml") == expected


def test_a_file_named_unlike_its_id_is_warned(tmp_path: Path) -> None:
    from gitflow_uet.spec.workstream import read_specs

    write_spec(tmp_path, "ws-1.yaml", "id: ws-one\ntitle: A\n")
    found = read_specs(tmp_path / "workstreams", tmp_path)
    assert list(found.specs) == ["ws-one"] and not found.errors
    assert found.warnings == ["workstreams/ws-1.yaml: the file name differs from its id 'ws-one' "
                              "(commands and branches use the id: uet/ws-one)"]


def test_fix_may_name_a_later_task(tmp_path: Path) -> None:
    write_spec(tmp_path, "a.yaml", "id: a\ntitle: A\ntasks: [{id: check, run: x, fix: edit}, {id: edit, run: y}]\n")
    assert load(tmp_path)["a"].tasks[0].fix == "edit"


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    message = spec_error(tmp_path, "id: a\ntitle: A\ntasks:\n  - id: t\n   run: x\n")
    assert message.startswith("workstreams/ws-003.yaml: line 5, column")
    assert "invalid YAML" in message


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    message = spec_error(tmp_path, "id: a\ntitle: A\ntitle: B\n")
    assert message.startswith("workstreams/ws-003.yaml: line 3, column 1: invalid YAML: duplicate key 'title'")


def test_yaml_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    write_spec(tmp_path, "a.yaml", """\
        id: a
        title: A
        tasks:
          - &slow {id: one, run: make, timeout: 1200}
          - {<<: *slow, id: two}
        """)
    assert [(t.id, t.timeout) for t in load(tmp_path)["a"].tasks] == [("one", 1200), ("two", 1200)]


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    message = spec_error(tmp_path, '{"id": "a",\n "title": }\n', name="a.json")
    assert message.startswith("workstreams/a.json: line 2, column")


def test_duplicate_workstream_ids_name_both_files(tmp_path: Path) -> None:
    write_spec(tmp_path, "first.yaml", "id: same\ntitle: One\n")
    message = spec_error(tmp_path, "id: same\ntitle: Two\n", name="second.yaml")
    assert message == "workstreams/second.yaml: id: workstream 'same' is already defined in workstreams/first.yaml"


def test_estimate_sums_tasks_or_defaults_to_one() -> None:
    tasks = [{"id": "a", "run": "x", "estimate": 30}, {"id": "b", "run": "y"}, {"id": "c", "run": "z", "estimate": 2.5}]
    assert estimate(Workstream.model_validate({"id": "w", "title": "W", "tasks": tasks})) == 32.5
    assert estimate(Workstream.model_validate({"id": "w", "title": "W", "tasks": [{"id": "a", "run": "x"}]})) == 1.0
    assert estimate(Workstream.model_validate({"id": "w", "title": "W"})) == 1.0
