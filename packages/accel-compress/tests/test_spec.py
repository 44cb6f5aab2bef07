"""Pruned models saved as weights + channel spec, re-applied to the original architecture."""

from __future__ import annotations

import json
from pathlib import Path

import crafted
import pytest
import torch
from compress_models import Tiny, TinyResNet

from accel.compress import prune
from accel.compress.loading import load_model
from accel.compress.spec import SPEC_FILE, load_pruned, save_pruned
from accel.core.errors import AccelError, ConfigError
from accel.core.registry import registry
from accel.core.trust import UntrustedFileError


def test_pruned_model_round_trips_without_pickle(resnet, digits, tmp_path: Path) -> None:
    pruned = prune(resnet, digits.example, 0.5)
    folder = save_pruned(pruned, tmp_path / "pruned")
    spec = json.loads((folder / SPEC_FILE).read_text())
    assert spec["layers"]["layer1.conv1"]["out_channels"] == pruned.layer1.conv1.out_channels
    loaded = load_pruned(folder, model=TinyResNet())
    x = digits.x_test[:16]
    assert loaded.layer1.conv1.weight.shape == pruned.layer1.conv1.weight.shape
    assert torch.allclose(loaded(x), pruned(x), atol=1e-5)


def test_load_model_reads_a_pruned_folder_with_arch(resnet, digits, tmp_path: Path) -> None:
    registry("models").add("test_spec_resnet", TinyResNet, override=True)
    try:
        pruned = prune(resnet, digits.example, 0.25)
        save_pruned(pruned, tmp_path / "p", arch="test_spec_resnet")
        loaded = load_model(tmp_path / "p")  # the spec names its architecture
        assert torch.allclose(loaded(digits.example), pruned(digits.example), atol=1e-5)
    finally:
        registry("models").remove("test_spec_resnet")


def test_folder_without_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no channels.json"):
        load_pruned(tmp_path, model=TinyResNet())


def test_spec_without_arch_needs_one(resnet, digits, tmp_path: Path) -> None:
    save_pruned(prune(resnet, digits.example, 0.25), tmp_path / "p")
    with pytest.raises(ConfigError, match="names no architecture: pass --arch"):
        load_pruned(tmp_path / "p")


def test_raw_build_of_the_crafted_arch_would_run_it(tmp_path: Path) -> None:
    from accel.core.registry import build

    marker = tmp_path / "pwned"
    with pytest.raises(AccelError):
        build("models", crafted.touch_spec(marker))
    assert marker.exists()


def test_an_arch_naming_code_is_refused_and_runs_nothing(tiny, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = crafted.channels_with_target(tmp_path / "p", Tiny(), marker)
    with pytest.raises(UntrustedFileError, match=r"channels.json: arch._target_ = 'os.system'"):
        load_model(folder)
    assert not marker.exists()
    assert isinstance(load_model(folder, arch=tiny.arch), Tiny)  # the user's own --arch


def test_the_arch_may_be_a_registry_mapping(tiny, tmp_path: Path) -> None:
    save_pruned(Tiny(), tmp_path / "p")
    spec = json.loads((tmp_path / "p" / SPEC_FILE).read_text())
    spec["arch"] = {"name": tiny.arch}
    (tmp_path / "p" / SPEC_FILE).write_text(json.dumps(spec))
    assert isinstance(load_model(tmp_path / "p"), Tiny)


def test_save_pruned_never_replaces_a_users_folder(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"holds files accel did not write \(notes.txt\)"):
        save_pruned(Tiny(), tmp_path / "p")
    assert (tmp_path / "p" / "notes.txt").read_text() == "mine"


def edit_spec(spec: dict, change: str) -> None:
    """Break a real channel spec in one way."""
    layer = next(iter(spec["layers"]))
    tensor = next(iter(spec["shapes"]))
    if change == "layers list":
        spec["layers"] = []
    elif change == "shapes text":
        spec["shapes"] = "big"
    elif change == "unknown layer":
        spec["layers"]["no.such.layer"] = {"out_features": 3}
    elif change == "unknown tensor":
        spec["shapes"]["no.such.weight"] = [3]
    elif change == "float size":
        spec["layers"][layer]["out_features"] = 2.5
    elif change == "negative size":
        spec["shapes"][tensor] = [-1, 64]
    elif change == "text size":
        spec["shapes"][tensor] = ["ten", 64]
    elif change == "foreign attribute":
        spec["layers"][layer]["forward"] = 3
    elif change == "shape unlike the weights":
        spec["shapes"][tensor] = [1000000, 64]
    elif change == "arch number":
        spec["arch"] = 7


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("layers list", "'layers' must be a mapping, got list"),
        ("shapes text", "'shapes' must be a mapping, got str"),
        ("unknown layer", r"names layers or tensors the architecture lacks: \['no.such.layer'\]"),
        ("unknown tensor", r"lacks: \['no.such.weight'\]"),
        ("float size", r"layers.net.1.out_features must be a size >= 0 .*got 2.5"),
        ("negative size", r"shapes.net.1.weight must be a list of sizes >= 0"),
        ("text size", r"shapes.net.1.weight must be a list of sizes >= 0"),
        ("foreign attribute", "layers.net.1.forward is not a size attribute"),
        ("shape unlike the weights", r"is \[1000000, 64\], but weights.safetensors holds"),
        ("arch number", "'arch' must be a registry name or a mapping"),
    ],
)
def test_a_malformed_spec_is_one_line(change: str, message: str, tiny, tmp_path: Path) -> None:
    save_pruned(Tiny(), tmp_path / "p", arch=tiny.arch)
    spec = json.loads((tmp_path / "p" / SPEC_FILE).read_text())
    edit_spec(spec, change)
    (tmp_path / "p" / SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(ConfigError, match=message) as caught:
        load_model(tmp_path / "p")
    assert "\n" not in str(caught.value)


def test_broken_json_and_missing_weights_are_one_line(tiny, tmp_path: Path) -> None:
    save_pruned(Tiny(), tmp_path / "p", arch=tiny.arch)
    (tmp_path / "p" / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(ConfigError, match=r"pruned weights .* are unreadable"):
        load_model(tmp_path / "p")
    (tmp_path / "p" / SPEC_FILE).write_text("{broken")
    with pytest.raises(ConfigError, match="is not readable JSON"):
        load_model(tmp_path / "p")
