import pytest
import torch
from cv_activations import assert_activations_used_once

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.cv.models.resnet_cifar import CifarResNet, resnet20, resnet56


def test_resnet20_and_56_have_the_paper_depth_and_size() -> None:
    small, large = resnet20(), resnet56()

    def convs(m):
        return sum(isinstance(x, torch.nn.Conv2d) and x.kernel_size == (3, 3) for x in m.modules())

    assert convs(small) == 19  # + 1 fc = 20 weighted layers
    assert convs(large) == 55
    assert 0.26e6 < sum(p.numel() for p in small.parameters()) < 0.29e6
    assert 0.84e6 < sum(p.numel() for p in large.parameters()) < 0.87e6


@pytest.mark.parametrize("size", [8, 32])
def test_works_on_8x8_digits_and_32x32(size) -> None:
    model = build("models", {"name": "resnet20", "num_classes": 10, "in_channels": 1})
    assert model(torch.rand(2, 1, size, size)).shape == (2, 10)


def test_each_activation_runs_once() -> None:
    assert_activations_used_once(resnet20(in_channels=1), torch.rand(2, 1, 8, 8))


def test_bad_depth_is_named() -> None:
    with pytest.raises(ConfigError, match=r"depth must be 6n\+2 .* got 21"):
        CifarResNet(depth=21)
    with pytest.raises(ConfigError, match="num_classes and in_channels must be >= 1, got 0 and 3"):
        resnet20(num_classes=0)
