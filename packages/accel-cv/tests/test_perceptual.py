import pytest
import torch
from torch import nn

from accel.core.registry import build
from accel.cv.errors import InputError
from accel.cv.losses.perceptual import PerceptualLoss


def tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))


def test_loss_is_zero_on_equal_images_and_network_stays_frozen() -> None:
    loss = PerceptualLoss(tiny_net(), layers=["1", "2"], weights=[1.0, 0.5])
    x = torch.rand(2, 3, 8, 8)
    assert float(loss(x, x)) == 0
    assert float(loss(x, torch.rand(2, 3, 8, 8))) > 0
    assert all(not p.requires_grad for p in loss.network.parameters())
    loss.train()
    assert not loss.network.training


def test_gradients_flow_to_the_prediction_and_pass_gradcheck() -> None:
    net = tiny_net().double()
    loss = PerceptualLoss(net, layers=["2"], criterion="mse", mean=[0.5] * 3, std=[0.25] * 3)
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 3, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: loss(a, y), (x,))


def test_registered_network_with_local_weights(tmp_path) -> None:
    model = build("models", {"name": "resnet20", "num_classes": 4})
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    loss = build(
        "losses",
        {
            "name": "perceptual",
            "network": {"name": "resnet20", "num_classes": 4},
            "layers": ["layers.2"],
            "network_weights": str(path),
        },
    )
    assert torch.equal(loss.network.fc.weight, model.fc.weight)
    x = torch.rand(2, 3, 8, 8)
    assert float(loss(x, x.flip(-1))) > 0


def test_bad_configuration_is_named() -> None:
    with pytest.raises(InputError, match="no layer 'nope'; layers are: 0, 1, 2"):
        PerceptualLoss(tiny_net(), layers=["nope"])
    with pytest.raises(InputError, match="2 weights for 1 layers"):
        PerceptualLoss(tiny_net(), layers=["1"], weights=[1, 2])
    with pytest.raises(InputError, match="at least one layer"):
        PerceptualLoss(tiny_net(), layers=[])
    with pytest.raises(InputError, match="criterion 'l3'"):
        PerceptualLoss(tiny_net(), layers=["1"], criterion="l3")
