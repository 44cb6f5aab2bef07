import torch
from cv_activations import assert_activations_used_once

from accel.core.registry import build
from accel.cv.models.resnet import resnet18


def test_resnet18_has_the_reference_parameter_count() -> None:
    assert 11.6e6 < sum(p.numel() for p in resnet18().parameters()) < 11.8e6


def test_default_stem_divides_by_32_and_small_stem_keeps_resolution() -> None:
    model = resnet18(num_classes=5, width=8)
    features = model.layers(model.stem(torch.rand(1, 3, 64, 64)))
    assert features.shape[-1] == 2
    small = build("models", {"name": "resnet18", "num_classes": 5, "width": 8, "small_input": True})
    assert small.layers(small.stem(torch.rand(1, 3, 32, 32))).shape[-1] == 4
    assert small(torch.rand(2, 3, 32, 32)).shape == (2, 5)


def test_each_activation_runs_once() -> None:
    assert_activations_used_once(resnet18(num_classes=3, width=8), torch.rand(2, 3, 32, 32))
