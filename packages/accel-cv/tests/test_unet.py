import pytest
import torch
import torch.nn.functional as F
from cv_activations import assert_activations_used_once

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.cv.models.unet import UNet


@pytest.mark.parametrize("shape", [(16, 16), (17, 23)])
def test_output_has_the_input_size(shape) -> None:
    model = build(
        "models", {"name": "unet", "in_channels": 1, "out_channels": 3, "base": 4, "depth": 2}
    )
    assert model(torch.rand(2, 1, *shape)).shape == (2, 3, *shape)


def test_unet_learns_an_identity_quickly() -> None:
    torch.manual_seed(0)
    model = UNet(1, 1, base=4, depth=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.rand(8, 1, 16, 16)
    first = None
    for _ in range(30):
        loss = F.mse_loss(model(x), x)
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 5


def test_each_activation_runs_once() -> None:
    assert_activations_used_once(UNet(base=4, depth=2), torch.rand(2, 3, 8, 8))


def test_bad_sizes_are_named() -> None:
    with pytest.raises(ConfigError, match="input height and width must be >= 8"):
        UNet(depth=3)(torch.rand(1, 3, 4, 4))
    with pytest.raises(ConfigError, match="must be >= 1"):
        UNet(depth=0)
