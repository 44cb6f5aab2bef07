import pytest
import torch
import torch.nn.functional as F

from accel.core.errors import UnknownNameError
from accel.core.registry import build
from accel.cv.color import rgb_to_lab
from accel.cv.errors import InputError
from accel.cv.losses.wrappers import ColorSpaceLoss, MultiScale


def test_multiscale_sums_weighted_losses_over_the_pyramid() -> None:
    torch.manual_seed(0)
    x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    expected = F.l1_loss(x, y) + 0.5 * F.l1_loss(F.avg_pool2d(x, 2), F.avg_pool2d(y, 2))
    assert torch.allclose(MultiScale(F.l1_loss, weights=[1.0, 0.5])(x, y), expected)


def test_multiscale_builds_a_registered_loss_from_config() -> None:
    loss = build(
        "losses",
        {"name": "multiscale", "loss": {"name": "ssim", "window_size": 3}, "weights": [1, 1]},
    )
    x = torch.rand(1, 1, 8, 8)
    assert float(loss(x, x)) == pytest.approx(0, abs=1e-6)
    with pytest.raises(UnknownNameError, match=r"has no 'ssmi'.*Did you mean 'ssim'"):
        MultiScale("ssmi")


def test_color_space_loss_compares_converted_images() -> None:
    torch.manual_seed(0)
    x, y = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    assert torch.allclose(
        ColorSpaceLoss(F.mse_loss, "lab")(x, y), F.mse_loss(rgb_to_lab(x), rgb_to_lab(y))
    )
    luma_only = ColorSpaceLoss(F.l1_loss, "ycbcr", channel_weights=[1, 0, 0])(x, y)
    yx = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    yy = 0.299 * y[:, 0] + 0.587 * y[:, 1] + 0.114 * y[:, 2]
    assert torch.allclose(luma_only, (yx - yy).abs().mean() / 3)


def test_wrappers_pass_gradcheck() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 3, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: MultiScale(F.mse_loss, [1, 0.5, 0.25])(a, y), (x,))
    assert torch.autograd.gradcheck(lambda a: ColorSpaceLoss(F.mse_loss, "hsv")(a, y), (x,))


def test_bad_inputs_are_named() -> None:
    with pytest.raises(InputError, match="space 'luv' is not one of gray, hsv, lab, xyz, ycbcr"):
        ColorSpaceLoss(F.l1_loss, "luv")
    with pytest.raises(InputError, match="expected 3 channels"):
        ColorSpaceLoss(F.l1_loss)(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4))
    with pytest.raises(InputError, match="2 channel weights for 3 channels"):
        ColorSpaceLoss(F.l1_loss, channel_weights=[1, 1])(
            torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
        )
    with pytest.raises(InputError, match="height and width >= 4"):
        MultiScale(F.l1_loss, [1, 1, 1])(torch.rand(1, 1, 2, 2), torch.rand(1, 1, 2, 2))
    with pytest.raises(InputError, match="at least one level"):
        MultiScale(F.l1_loss, [])
