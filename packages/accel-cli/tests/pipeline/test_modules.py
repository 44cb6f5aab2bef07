"""Saving a pruned model as weights + spec and loading it back into resized layers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from accel.cli.pipeline.modules import fit_to_state, load_module, save_module
from accel.core.errors import ConfigError

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
