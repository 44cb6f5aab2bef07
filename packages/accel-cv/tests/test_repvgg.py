import pytest
import torch
from cv_activations import assert_activations_used_once
from torch import nn

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.cv.models.repvgg import RepVGG, RepVGGBlock


def trained_model() -> RepVGG:
    torch.manual_seed(0)
    model = build(
        "models",
        {
            "name": "repvgg",
            "num_classes": 4,
            "widths": [8, 16],
            "depths": [2, 2],
            "strides": [1, 2],
        },
    )
    model.train()
    for _ in range(3):  # move BN running statistics away from their defaults
        model(torch.rand(8, 3, 16, 16) * 2)
    return model.eval()


def test_reparametrize_keeps_outputs_and_leaves_one_conv_per_block() -> None:
    model = trained_model()
    x = torch.rand(4, 3, 16, 16)
    before = model(x)
    model.reparametrize()
    after = model(x)
    assert torch.allclose(before, after, atol=1e-5)
    blocks = [m for m in model.modules() if isinstance(m, RepVGGBlock)]
    assert all(b.fused is not None for b in blocks)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == len(blocks)


def test_deployed_state_dict_loads_into_a_deploy_model() -> None:
    model = trained_model().reparametrize()
    deployed = RepVGG(4, widths=[8, 16], depths=[2, 2], strides=[1, 2], deploy=True).eval()
    deployed.load_state_dict(model.state_dict())
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(deployed(x), model(x))


def test_identity_branch_only_when_shapes_match() -> None:
    assert RepVGGBlock(8, 8, 1).identity is not None
    assert RepVGGBlock(8, 16, 1).identity is None
    assert RepVGGBlock(8, 8, 2).identity is None


def test_each_activation_runs_once_before_and_after_merging() -> None:
    model = trained_model()
    assert_activations_used_once(model, torch.rand(2, 3, 16, 16))
    assert_activations_used_once(model.switch_to_deploy(), torch.rand(2, 3, 16, 16))


def test_bad_stage_lists_are_named() -> None:
    with pytest.raises(ConfigError, match="one value per stage"):
        RepVGG(widths=[8], depths=[1, 1], strides=[1])
