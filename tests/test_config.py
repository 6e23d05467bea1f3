from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitflow_uet.config import DEFAULT_CONFIG_YAML, Config, PatchPolicy, PolicyOverride, load_config
from gitflow_uet.errors import SpecError


def write_config(root: Path, text: str) -> None:
    (root / ".uet").mkdir(exist_ok=True)
    (root / ".uet" / "config.yaml").write_text(text)


def config_error(root: Path, text: str) -> str:
    write_config(root, text)
    with pytest.raises(SpecError) as info:
        load_config(root)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_missing_file_gives_the_design_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.schema_version == 1
    assert (config.target, config.workstreams, config.worktrees) == ("main", "workstreams", ".worktrees")
    assert (config.sparse_worktrees, config.workers, config.scope_overlap, config.max_fix_rounds) == (
        False, 3, "serialize", 3)
    assert config.gates == {"unit": "python -m pytest -q"}
    assert config.integrate_gates == ["unit"]
    assert config.hook_gates.pre_commit == [] and config.hook_gates.pre_push == ["unit"]
    policy = config.patch_policy
    assert (policy.max_files, policy.max_lines) == (50, 2000)
    assert not (policy.allow_binary or policy.allow_symlinks or policy.allow_submodules)
    assert policy.forbid == [".gitattributes", ".gitmodules", ".lfsconfig"]
    assert config.tools["claude"].timeout == 1800 and config.tools["claude"].max_workers == 2
    assert config.tools["llm"].api_key_env == "OPENAI_API_KEY"
    assert config.budget.tokens is None and config.budget.cost_usd is None


def test_default_yaml_loads_back_to_the_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, DEFAULT_CONFIG_YAML)
    assert load_config(tmp_path) == Config(schema_version=1)


def test_default_yaml_spells_out_every_key() -> None:
    written = yaml.safe_load(DEFAULT_CONFIG_YAML)
    # Tool profiles are written compactly (unset fields left out); the load-back test covers them.
    assert written == Config(schema_version=1).model_dump(by_alias=True, exclude_defaults=False) | {
        "tools": written["tools"]}
    assert set(written) == set(Config.model_fields)
    assert set(written["patch_policy"]) == set(PatchPolicy.model_fields)


def test_partial_config_keeps_other_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, "schema_version: 1\ntarget: trunk\nhook_gates: {pre-commit: [unit]}\n")
    config = load_config(tmp_path)
    assert config.target == "trunk" and config.workers == 3
    assert config.hook_gates.pre_commit == ["unit"] and config.hook_gates.pre_push == ["unit"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("schema_version: 1\ncolour: red\n", ".uet/config.yaml: colour: Extra inputs are not permitted"),
        ("target: main\n", ".uet/config.yaml: schema_version: Field required"),
        ("schema_version: 2\n", ".uet/config.yaml: schema_version: Input should be 1"),
        ("schema_version: 1\nscope_overlap: sometimes\n", ".uet/config.yaml: scope_overlap: Input should be 'serialize' or 'allow'"),
        ("schema_version: 1\nworkers: 0\n", ".uet/config.yaml: workers: Input should be greater than or equal to 1"),
        ("schema_version: 1\npatch_policy: {max_lines: many}\n", ".uet/config.yaml: patch_policy.max_lines: Input should be a valid integer"),
        ("schema_version: 1\ntools: {claude: {timeout: 5, colour: red}}\n", ".uet/config.yaml: tools.claude.colour: Extra inputs"),
        ("schema_version: 1\nintegrate_gates: [unit, lint]\n", ".uet/config.yaml: integrate_gates.1: unknown gate 'lint' (gates: unit)"),
        ("schema_version: 1\nhook_gates: {pre-push: [lint]}\n", ".uet/config.yaml: hook_gates.pre-push.0: unknown gate 'lint'"),
        ("schema_version: 1\nhook_gates: {pre_push: []}\n", ".uet/config.yaml: hook_gates.pre_push: Extra inputs are not permitted"),
        ("schema_version: 1\ntarget: [\n", ".uet/config.yaml: line 3, column 1: invalid YAML"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    assert config_error(tmp_path, text).startswith(expected)


def test_replacing_gates_checks_the_default_gate_lists(tmp_path: Path) -> None:
    message = config_error(tmp_path, "schema_version: 1\ngates: {test: pytest}\n")
    assert message == ".uet/config.yaml: integrate_gates.0: unknown gate 'unit' (gates: test) (+1 more)"


def test_narrowed_only_tightens() -> None:
    base = PatchPolicy(max_files=10, max_lines=100, allow_binary=True, allow_symlinks=True, forbid=["a"])
    tight = base.narrowed({"max_files": 20, "max_lines": 40, "allow_binary": False, "allow_submodules": True,
                           "forbid": ["b", "a"]})
    assert (tight.max_files, tight.max_lines) == (10, 40)
    assert (tight.allow_binary, tight.allow_symlinks, tight.allow_submodules) == (False, True, False)
    assert tight.forbid == ["a", "b"]
    assert base.narrowed(None) == base
    assert base.narrowed(PolicyOverride()) == base


def test_narrowed_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        PatchPolicy().narrowed({"max_bytes": 1})


def test_policy_override_mirrors_patch_policy_fields() -> None:
    assert list(PolicyOverride.model_fields) == list(PatchPolicy.model_fields)
