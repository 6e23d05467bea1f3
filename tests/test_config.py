from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitflow_uet.spec.config import DEFAULT_CONFIG_YAML, Config, PatchPolicy, PolicyOverride, load_config
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
    defaults = Config(schema_version=1).model_dump(by_alias=True, exclude_defaults=False)
    assert written == {k: v for k, v in defaults.items() if k in written} | {"tools": written["tools"]}
    # The gate lists are written as comments: unset, they follow whatever `gates` the user keeps.
    assert set(written) == set(Config.model_fields) - {"integrate_gates", "hook_gates"}
    assert "\n# integrate_gates: [unit]" in DEFAULT_CONFIG_YAML and "\n# hook_gates: {" in DEFAULT_CONFIG_YAML
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


@pytest.mark.parametrize("gates", ["{}", "{smoke: 'true'}", "{smoke: 'true', lint: 'true'}"])
def test_unset_gate_lists_follow_the_gates_that_exist(tmp_path: Path, gates: str) -> None:
    # Issue 9.3: `gates: {}` with no hook_gates failed every command ("unknown gate 'unit'").
    write_config(tmp_path, f"schema_version: 1\ngates: {gates}\n")
    config = load_config(tmp_path)
    names = list(yaml.safe_load(gates))
    assert config.integrate_gates == names
    assert config.hook_gates.pre_push == names and config.hook_gates.pre_commit == []


def test_unset_pre_push_follows_integrate_gates(tmp_path: Path) -> None:
    text = "schema_version: 1\ngates: {a: 'true', b: 'true'}\nintegrate_gates: [b]\nhook_gates: {pre-commit: [a]}\n"
    write_config(tmp_path, text)
    config = load_config(tmp_path)
    assert (config.integrate_gates, config.hook_gates.pre_commit, config.hook_gates.pre_push) == (["b"], ["a"], ["b"])


def test_a_gate_list_the_user_wrote_is_still_checked(tmp_path: Path) -> None:
    message = config_error(tmp_path, "schema_version: 1\ngates: {test: pytest}\nintegrate_gates: [unit]\n")
    assert message == ".uet/config.yaml: integrate_gates.0: unknown gate 'unit' (gates: test)"


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
