"""Every model traces with torch.fx and exports with torch.export: compression passes rely on it."""

import pytest
import torch

from accel.core.registry import build

MODELS = [
    ({"name": "resnet20", "in_channels": 1}, (2, 1, 8, 8)),
    ({"name": "resnet56"}, (2, 3, 8, 8)),
    ({"name": "resnet18", "num_classes": 3, "width": 8, "small_input": True}, (2, 3, 16, 16)),
    ({"name": "mobilenetv2", "width_mult": 0.5}, (2, 3, 16, 16)),
    ({"name": "repvgg"}, (2, 3, 16, 16)),
    ({"name": "unet", "base": 4, "depth": 2}, (2, 3, 16, 16)),
]


@pytest.mark.parametrize(("spec", "shape"), MODELS, ids=[s["name"] for s, _ in MODELS])
def test_model_traces_and_exports_with_equal_outputs(spec, shape) -> None:
    model = build("models", spec).eval()
    x = torch.rand(shape)
    expected = model(x)
    traced = torch.fx.symbolic_trace(model)
    assert torch.allclose(traced(x), expected, atol=1e-6)
    exported = torch.export.export(model, (x,))
    assert torch.allclose(exported.module()(x), expected, atol=1e-6)
