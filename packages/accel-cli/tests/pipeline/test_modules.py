"""Saving a pruned model as weights + spec and loading it back into resized layers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from accel.cli.pipeline.modules import fit_to_state, load_module, save_module
from accel.core.errors import AccelError, ConfigError
from accel.core.trust import UntrustedFileError, allowing_targets, trusting_files

SPEC = {"_target_": "accel_cli_testkit.TinyCnn", "in_channels": 1, "num_classes": 2, "width": 8}


def prune_middle(model: nn.Sequential, keep: int) -> nn.Sequential:
    """Keep the first `keep` channels of the first conv (and what depends on them)."""
    conv1, bn1, conv2 = model[0], model[1], model[3]
    new1 = nn.Conv2d(1, keep, 3, padding=1)
    new1.weight.data, new1.bias.data = conv1.weight.data[:keep], conv1.bias.data[:keep]
    newbn = nn.BatchNorm2d(keep)
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(newbn, name).data = getattr(bn1, name).data[:keep].clone()
    new2 = nn.Conv2d(keep, conv2.out_channels, 3, padding=1)
    new2.weight.data, new2.bias.data = conv2.weight.data[:, :keep], conv2.bias.data
    model[0], model[1], model[3] = new1, newbn, new2
    return model


def test_pruned_model_round_trips(tmp_path: Path, workdir: Path) -> None:
    from accel.core.registry import build

    torch.manual_seed(0)
    model = prune_middle(build("models", SPEC), keep=3).eval()
    path = save_module(model, SPEC, tmp_path / "m.safetensors")
    with allowing_targets([SPEC["_target_"]]):  # the user's own config names TinyCnn
        loaded = load_module(path).eval()
    assert loaded[0].out_channels == 3
    assert loaded[3].in_channels == 3
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(model(x), loaded(x))


def test_load_refuses_plain_safetensors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ConfigError, match="not a model saved by accel pipeline"):
        load_module(tmp_path / "plain.safetensors")


def test_unknown_layer_kind_cannot_be_resized() -> None:
    model = nn.Sequential(nn.LayerNorm(4))
    with pytest.raises(ConfigError, match=r"cannot resize layer 0 \(LayerNorm\)"):
        fit_to_state(model, {"0.weight": torch.zeros(2), "0.bias": torch.zeros(2)})


def test_depthwise_conv_keeps_groups_equal_to_channels() -> None:
    model = nn.Sequential(nn.Conv2d(4, 4, 3, groups=4))
    fit_to_state(model, {"0.weight": torch.zeros(2, 1, 3, 3), "0.bias": torch.zeros(2)})
    assert (model[0].in_channels, model[0].out_channels, model[0].groups) == (2, 2, 2)


def test_a_spec_naming_code_is_refused_unless_allowed_or_trusted(
    tmp_path: Path, workdir: Path
) -> None:
    from accel.core.registry import build

    marker = tmp_path / "MARKER"
    spec = {"_target_": "os.system", "command": f"touch {marker}"}
    with pytest.raises(AccelError, match="not a Model"):  # a plain build runs it: live spec
        build("models", spec)
    assert marker.exists()
    marker.unlink()
    path = save_module(build("models", SPEC), spec, tmp_path / "evil.safetensors")
    with pytest.raises(UntrustedFileError, match=r"evil.safetensors: accel_model_spec._target_"):
        load_module(path)
    assert not marker.exists()
    good = save_module(build("models", SPEC), SPEC, tmp_path / "m.safetensors")
    with pytest.raises(UntrustedFileError, match="Pass --trust-file"):
        load_module(good)
    with trusting_files(True):
        assert isinstance(load_module(good), nn.Sequential)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a readable safetensors model file"),
        (b"\x08\x00\x00\x00\x00\x00\x00\x00{}", "not a readable safetensors model file"),
        (b"not safetensors at all", "not a readable safetensors model file"),
    ],
)
def test_unreadable_module_file_is_one_line(data: bytes, message: str, tmp_path: Path) -> None:
    (tmp_path / "m.safetensors").write_bytes(data)
    with pytest.raises(ConfigError, match=message):
        load_module(tmp_path / "m.safetensors")


def test_spec_metadata_not_json(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(tmp_path / "m.safetensors"), {"accel_model_spec": "{"})
    with pytest.raises(ConfigError, match="accel_model_spec is not valid JSON"):
        load_module(tmp_path / "m.safetensors")
