import numpy as np
import pytest
import torch
from cv_helpers import to_tensor
from skimage import color as skcolor

from accel.cv import color

PAIRS = [
    (color.rgb_to_ycbcr, color.ycbcr_to_rgb),
    (color.rgb_to_lab, color.lab_to_rgb),
    (color.rgb_to_hsv, color.hsv_to_rgb),
    (color.rgb_to_xyz, color.xyz_to_rgb),
]


def as_array(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize(("forward", "backward"), PAIRS)
def test_conversions_round_trip_within_1e_4(forward, backward, color_image, coffee_image) -> None:
    for image in (color_image, coffee_image):
        rgb = to_tensor(image)
        assert (backward(forward(rgb)) - rgb).abs().max() < 1e-4
        assert (backward(forward(rgb.float())) - rgb.float()).abs().max() < 1e-4


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (color.rgb_to_lab, skcolor.rgb2lab),
        (color.rgb_to_hsv, skcolor.rgb2hsv),
        (color.rgb_to_xyz, skcolor.rgb2xyz),
        (
            lambda x: (
                color.rgb_to_ycbcr(x) * torch.tensor([219.0, 224.0, 224.0]).view(3, 1, 1) + 16
            ),
            skcolor.rgb2ycbcr,
        ),
    ],
)
def test_conversions_match_scikit_image(ours, theirs, color_image, coffee_image) -> None:
    for image in (color_image, coffee_image):
        # ycbcr on the 16-235 scale: skimage's matrix is ours scaled, rounded to 3 decimals
        tolerance = 1e-3 if theirs is skcolor.rgb2ycbcr else 1e-6
        np.testing.assert_allclose(as_array(ours(to_tensor(image))), theirs(image), atol=tolerance)


def test_inverse_conversions_match_scikit_image(color_image) -> None:
    lab = skcolor.rgb2lab(color_image)
    np.testing.assert_allclose(
        as_array(color.lab_to_rgb(to_tensor(lab))), skcolor.lab2rgb(lab), atol=1e-6
    )
    hsv = skcolor.rgb2hsv(color_image)
    np.testing.assert_allclose(
        as_array(color.hsv_to_rgb(to_tensor(hsv))), skcolor.hsv2rgb(hsv), atol=1e-6
    )


def test_gray_matches_scikit_image_and_expands_back(color_image) -> None:
    gray = color.rgb_to_gray(to_tensor(color_image))
    assert gray.shape == (1, 1, 256, 256)
    np.testing.assert_allclose(gray[0, 0].numpy(), skcolor.rgb2gray(color_image), atol=1e-12)
    assert torch.equal(color.gray_to_rgb(gray)[:, 2], gray[:, 0])


@pytest.mark.parametrize(
    "fn",
    [color.rgb_to_lab, color.rgb_to_hsv, color.rgb_to_ycbcr, color.rgb_to_gray, color.lab_to_rgb],
)
def test_conversions_have_correct_gradients(fn) -> None:
    torch.manual_seed(0)
    x = (torch.rand(1, 3, 3, 3, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    if fn is color.lab_to_rgb:
        x = color.rgb_to_lab(x.detach()).requires_grad_()
    assert torch.autograd.gradcheck(fn, (x,))


def test_gradients_stay_finite_on_black_and_gray_pixels() -> None:
    x = (
        torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
        .view(1, 1, 3, 1)
        .expand(1, 3, 3, 1)
        .clone()
    )
    x.requires_grad_()
    (color.rgb_to_lab(x).sum() + color.rgb_to_hsv(x).sum()).backward()
    assert x.grad is not None
    assert torch.isfinite(x.grad).all()
