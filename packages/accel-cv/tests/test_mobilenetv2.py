import pytest
import torch
from cv_activations import assert_activations_used_once
from torch import nn

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.cv.models.mobilenetv2 import InvertedResidual


def test_small_mobilenetv2_classifies_small_images() -> None:
    model = build(
        "models", {"name": "mobilenetv2", "num_classes": 7, "in_channels": 1, "width_mult": 0.5}
    )
    assert model(torch.rand(2, 1, 16, 16)).shape == (2, 7)
    assert sum(p.numel() for p in model.parameters()) < 0.3e6
    depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert depthwise
    assert all(m.groups == m.in_channels for m in depthwise)


def test_residual_only_when_shapes_match() -> None:
    assert InvertedResidual(16, 16, 1, 6).residual
    assert not InvertedResidual(16, 24, 1, 6).residual
    assert not InvertedResidual(16, 16, 2, 6).residual


def test_each_activation_runs_once() -> None:
    assert_activations_used_once(build("models", "mobilenetv2"), torch.rand(2, 3, 32, 32))


@pytest.mark.parametrize("width_mult", [0, -1, 100, "wide", True])
def test_a_width_multiplier_out_of_range_is_refused(width_mult: object) -> None:
    with pytest.raises(ConfigError, match=r"mobilenetv2: width_mult must be"):
        build("models", {"name": "mobilenetv2", "width_mult": width_mult})
