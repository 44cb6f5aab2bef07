"""The loading policy: a spec from a file names registered components, never code to run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from core_tiny import TinyNet

from accel.core.checkpoint import (
    checkpoint_section,
    load_checkpoint,
    rebuild_model,
    save_checkpoint,
)
from accel.core.errors import AccelError, ConfigError
from accel.core.registry import build, build_from_file, import_dotted
from accel.core.testing import hang_guard
from accel.core.trust import (
    UntrustedFileError,
    allowing_targets,
    check_file_spec,
    file_origin,
    find_targets,
    trusting_files,
)


def touch(marker: Path) -> dict[str, Any]:
    """A spec that, if called, creates `marker`: what an attacker writes into a file."""
    return {"_target_": "builtins.open", "file": str(marker), "mode": "w"}


def test_the_attack_works_when_nothing_guards_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(AccelError):  # the protocol check comes only after the call
        build("models", touch(marker))
    assert marker.exists()


def test_find_targets_names_every_target_with_its_key_path() -> None:
    spec = {"name": "x", "loss": {"_target_": "a.B"}, "items": [{"k": {"_target_": "c:D"}}]}
    assert list(find_targets(spec, "model")) == [
        ("model.loss._target_", "a.B"),
        ("model.items[0].k._target_", "c:D"),
    ]


def test_a_file_spec_with_a_target_is_refused_naming_file_key_and_flag(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(
        UntrustedFileError,
        match=r"^ckpt/manifest.json: model.spec._target_ = 'builtins.open' names code.*"
        r"--trust-file",
    ):
        build_from_file("models", touch(marker), source="ckpt/manifest.json", key="model.spec")
    assert not marker.exists()


def test_a_nested_target_inside_a_registered_component_is_refused_too(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    spec = {"name": "sgd", "lr": 0.1, "extra": [touch(marker)]}
    with pytest.raises(UntrustedFileError, match=r"optimizer.extra\[0\]._target_"):
        check_file_spec(spec, "config.yaml", "optimizer")
    assert not marker.exists()


def test_registry_names_from_a_file_build(tiny: None) -> None:
    model = build_from_file("models", {"name": "tiny_net", "hidden": 4}, source="f", key="model")
    assert isinstance(model, TinyNet)


def test_trust_flag_allows_the_target(tmp_path: Path) -> None:
    spec = {"_target_": "core_tiny.TinyNet", "hidden": 3}
    with trusting_files():
        model = build_from_file("models", spec, source="f", key="model")
    assert isinstance(model, TinyNet)
    assert isinstance(build_from_file("models", spec, source="f", key="m", trust=True), TinyNet)


def test_a_target_the_users_own_config_names_is_allowed() -> None:
    with allowing_targets(["core_tiny:TinyNet"]):
        model = build_from_file("models", {"_target_": "core_tiny.TinyNet"}, source="f", key="m")
    assert isinstance(model, TinyNet)
    with pytest.raises(UntrustedFileError):  # the allowance ends with its block
        build_from_file("models", {"_target_": "core_tiny.TinyNet"}, source="f", key="m")


def test_import_target_inside_a_file_origin_obeys_the_policy(tmp_path: Path) -> None:
    """A component that builds specs itself (bypassing the first check) is stopped at import."""
    marker = tmp_path / "pwned"
    with file_origin("recipe.yaml"), pytest.raises(UntrustedFileError, match=r"recipe\.yaml"):
        build("models", touch(marker))
    assert not marker.exists()
    assert import_dotted("core_tiny.TinyNet") is TinyNet  # declared code is not a file's


def test_deep_nesting_is_one_line_not_a_recursion_error() -> None:
    spec: Any = "leaf"
    for _ in range(5000):
        spec = {"a": spec}
    with pytest.raises(ConfigError, match="nested more than 64 levels deep"):
        check_file_spec(spec, "f", "model", trust=True)


def test_checkpoint_manifests_go_through_the_policy(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    config = {"model": touch(marker), "data": {"name": "digits", "x": [touch(marker)]}}
    save_checkpoint(tmp_path / "ck", "c", {"model": TinyNet().state_dict()}, config=config)
    with pytest.raises(UntrustedFileError, match=r"ck/c/manifest.json: model.spec._target_"):
        rebuild_model(tmp_path / "ck")
    manifest, _ = load_checkpoint(tmp_path / "ck")
    with pytest.raises(UntrustedFileError, match=r"config.data.x\[0\]._target_"):
        checkpoint_section(manifest, "config.data")
    assert not marker.exists()


def test_a_trusted_checkpoint_rebuilds_its_target_model(tmp_path: Path) -> None:
    model = TinyNet(hidden=6)
    spec = {"_target_": "core_tiny.TinyNet", "hidden": 6}
    save_checkpoint(tmp_path, "c", {"model": model.state_dict()}, config={"model": spec})
    rebuilt = rebuild_model(tmp_path, trust=True)
    assert torch.equal(rebuilt.state_dict()["net.0.weight"], model.state_dict()["net.0.weight"])


def aliases(levels: int) -> Any:
    """A YAML file whose last anchor expands to 10**levels values (read with safe_load)."""
    import yaml

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return yaml.safe_load("\n".join(lines) + f"\nmodel: {{name: resnet20, x: *a{levels - 1}}}\n")


def test_a_yaml_alias_bomb_is_refused_at_once_not_expanded() -> None:
    """10**10 values once expanded (by whatever dumps or walks the config later): refused,
    counted without expanding it."""
    with hang_guard(60), pytest.raises(ConfigError, match=r"^config.yaml: .*more than 1,000,000"):
        check_file_spec(aliases(10), "config.yaml")


def test_aliases_within_the_bound_are_read_and_their_targets_found_once() -> None:
    config = aliases(3)  # 1,000 leaves
    config["a0"].append({"_target_": "os.system"})  # reached through every alias
    found = list(find_targets(config))
    assert found == [("a0[10]._target_", "os.system")]


def test_too_deep_or_too_big_names_the_file() -> None:
    deep: Any = "leaf"
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ConfigError, match=r"^run/config.yaml: model(\[0\])+: nested more"):
        check_file_spec({"model": deep}, "run/config.yaml")
    with pytest.raises(ConfigError, match=r"^f: data: more than 1,000,000 values"):
        check_file_spec({"data": list(range(1_000_001))}, "f")
