"""The boundary where files from the user's repository become models.

Reading a YAML/JSON document and turning a pydantic `ValidationError` into a one-line
`SpecError` happen here and nowhere else, so every bad file reads the same way:

    workstreams/ws-003.yaml: tasks.0.timeout: Input should be a valid integer

`python -m gitflow_uet.spec.documents` regenerates the JSON Schemas shipped in `schema/` (repo
root, for editors) and `gitflow_uet/schema/` (package data); a test keeps them in sync.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from gitflow_uet.errors import SpecError

M = TypeVar("M", bound=BaseModel)

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def display_path(path: Path, repo_root: Path) -> str:
    """The path as messages show it: relative to the repository root when inside it."""
    try:
        return path.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def field_error(errors: Sequence[tuple[tuple[str | int, ...], str]], title: str = "spec") -> ValidationError:
    """A ValidationError for cross-field checks. Raised inside a validator, pydantic keeps
    these locations (nested under the outer model's), so messages name the exact field."""
    details = [
        InitErrorDetails(type=PydanticCustomError("uet", message), loc=loc, input=None) for loc, message in errors
    ]
    return ValidationError.from_exception_data(title, details)


def describe(err: ValidationError, model: type[BaseModel] | None = None) -> str:
    """`field.path: message` for every error, joined by `; ` (one line), with a hint where
    one helps: a YAML boolean where text was wanted, a misspelt key of `model`."""
    known = _field_names(model) if model is not None else set()
    return "; ".join(_one(error, known) for error in err.errors(include_url=False))


def _one(error: Any, known: set[str]) -> str:
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    loc = ".".join(str(part) for part in error["loc"])
    key = str(error["loc"][-1]) if error["loc"] else ""
    if error["type"] == "string_type" and isinstance(error.get("input"), bool):
        # YAML 1.1 reads an unquoted true/false/yes/no/on/off as a boolean.
        word = "true" if error["input"] else "false"
        message += f" (YAML read an unquoted {word}/yes/no/on/off as a boolean: quote it, e.g. {key}: \"{word}\")"
    elif error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        if close:
            message += f" (did you mean '{close[0]}'?)"
    return f"{loc}: {message}" if loc else message


def _field_names(model: type[BaseModel]) -> set[str]:
    """Every key `model` and the models inside it accept (aliases as written in files)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                names.update(str(name) for name in properties)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(model.model_json_schema(by_alias=True))
    names.discard("$schema")
    return names


def spec_error(err: ValidationError, path: Path, repo_root: Path, model: type[BaseModel] | None = None) -> SpecError:
    return SpecError(f"{display_path(path, repo_root)}: {describe(err, model)}")


def validate(model: type[M], data: Any, path: Path, repo_root: Path) -> M:
    """Validate one document against `model`; any failure is a one-line SpecError."""
    if data is None:
        # An empty file (or one holding only comments) parses to nothing at all.
        raise SpecError(f"{display_path(path, repo_root)}: empty file")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise spec_error(err, path, repo_root, model) from None


# libyaml's parser when PyYAML was built with it (several times faster); the constructor,
# and so the duplicate-key check below, is the same Python code either way.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses duplicate keys: PyYAML keeps the last one silently, which
    hides a typo'd second `tasks:` or `depends_on:` block."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    # Checked before merge keys (`<<: *base`) are flattened in: overriding a merged key is fine.
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if isinstance(key, (str, int, float, bool)) and key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_document(path: Path, repo_root: Path) -> Any:
    """Parse a `.json` file as JSON and anything else as YAML; errors name file and line."""
    where = display_path(path, repo_root)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{where}: not UTF-8 text") from None
    except OSError as err:
        raise SpecError(f"{where}: cannot read: {err.strerror or err}") from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError(f"{where}: line {err.lineno}, column {err.colno}: invalid JSON: {err.msg}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = err.problem or err.context or "cannot parse"
        raise SpecError(f"{where}: {at}invalid YAML: {problem}") from None
    except yaml.YAMLError as err:
        raise SpecError(f"{where}: invalid YAML: {' '.join(str(err).split())}") from None


def generate_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of the files users and scripts write or read, keyed by short name."""
    # Imported here: config/spec import this module for the helpers above.
    from gitflow_uet.spec.config import Config
    from gitflow_uet.ledger.records import LedgerEntry, LedgerRecord
    from gitflow_uet.spec.workstream import Workstream

    models: dict[str, type[BaseModel]] = {"config": Config, "workstream": Workstream, "ledger-entry": LedgerEntry,
                                         "ledger-record": LedgerRecord}
    return {name: {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema()} for name, model in models.items()}


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_folders(project_root: Path) -> list[Path]:
    """Where the schemas live: `schema/` for editors, `gitflow_uet/schema/` to ship them."""
    return [project_root / "schema", project_root / "gitflow_uet" / "schema"]


def write_schemas(project_root: Path) -> list[Path]:
    written = []
    for folder in schema_folders(project_root):
        folder.mkdir(parents=True, exist_ok=True)
        for name, schema in generate_schemas().items():
            path = folder / f"{name}.schema.json"
            path.write_text(schema_text(schema), encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    write_schemas(Path(__file__).resolve().parents[2])
