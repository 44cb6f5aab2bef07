import pytest
import torch

from accel.core.errors import ConfigError
from accel.cv.errors import InputError
from accel.cv.losses.gradient import GradientLoss, TotalVariation, sobel_gradients, total_variation


def test_sobel_finds_a_vertical_edge_only_horizontally() -> None:
    x = torch.zeros(1, 1, 6, 6)
    x[..., 3:] = 1.0
    gx, gy = sobel_gradients(x)
    assert gx[0, 0, 2, 2] == pytest.approx(0.5)
    assert gx[0, 0, 2, 3] == pytest.approx(0.5)
    assert gx[0, 0, :, 0].abs().max() == 0
    assert gy.abs().max() == 0


def test_gradient_loss_ignores_a_constant_shift_but_not_blur() -> None:
    torch.manual_seed(0)
    target = torch.rand(2, 3, 16, 16)
    loss = GradientLoss()
    assert float(loss(target + 0.3, target)) == pytest.approx(0, abs=1e-6)
    blurred = torch.nn.functional.avg_pool2d(target, 3, 1, 1, count_include_pad=False)
    assert float(loss(blurred, target)) > 0.05


def test_total_variation_of_a_checkerboard() -> None:
    board = (torch.arange(4).view(1, -1) + torch.arange(4).view(-1, 1)) % 2
    x = board.float().view(1, 1, 4, 4)
    assert total_variation(x).tolist() == [2.0]
    assert float(TotalVariation()(torch.ones(1, 1, 4, 4))) == 0
    assert float(TotalVariation(power=2)(x * 0.5)) == pytest.approx(0.5)


def test_losses_pass_gradcheck() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: GradientLoss()(a, y), (x,))
    assert torch.autograd.gradcheck(lambda a: GradientLoss("mse")(a, y), (x,))
    assert torch.autograd.gradcheck(lambda a: TotalVariation()(a), (x,))
    assert torch.autograd.gradcheck(lambda a: TotalVariation(power=2)(a, y), (x,))


def test_bad_arguments_and_inputs() -> None:
    with pytest.raises(InputError, match="criterion 'l3' is not one of l1, mse"):
        GradientLoss("l3")
    with pytest.raises(InputError, match="power must be 1 or 2, got 3"):
        TotalVariation(power=3)
    with pytest.raises(ConfigError, match="reduction 'avg' is not one of mean, sum, none"):
        TotalVariation(reduction="avg")
    with pytest.raises(InputError, match="same shape"):
        GradientLoss()(torch.rand(1, 1, 4, 4), torch.rand(1, 2, 4, 4))
    assert GradientLoss(reduction="none")(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4)).shape == (
        1,
        2,
        4,
        4,
    )
