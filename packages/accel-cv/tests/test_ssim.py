import pytest
import pytorch_msssim
import torch
from cv_helpers import add_noise, to_tensor
from skimage.metrics import structural_similarity

from accel.core.registry import build
from accel.cv.errors import InputError
from accel.cv.losses.ssim import MSSSIM, SSIM, ms_ssim, ssim

SKIMAGE_STANDARD = dict(
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
)


def test_ssim_matches_scikit_image_on_a_gray_image(gray_image) -> None:
    distorted = add_noise(gray_image, seed=0)
    expected = structural_similarity(gray_image, distorted, **SKIMAGE_STANDARD)
    got = ssim(to_tensor(gray_image), to_tensor(distorted))
    assert abs(float(got) - expected) < 1e-3
    assert 0.2 < expected < 0.9  # a real distortion, not a trivial 1.0


def test_ssim_matches_scikit_image_on_color_images(color_image, coffee_image) -> None:
    for seed, image in enumerate((color_image, coffee_image)):
        distorted = add_noise(image, seed=seed, sigma=0.05)
        expected = structural_similarity(image, distorted, channel_axis=-1, **SKIMAGE_STANDARD)
        assert abs(float(ssim(to_tensor(image), to_tensor(distorted))) - expected) < 1e-3


def test_ssim_honours_data_range(gray_image) -> None:
    distorted = add_noise(gray_image, seed=3)
    options = {**SKIMAGE_STANDARD, "data_range": 255.0}
    expected = structural_similarity(gray_image * 255, distorted * 255, **options)
    got = ssim(to_tensor(gray_image) * 255, to_tensor(distorted) * 255, data_range=255.0)
    assert abs(float(got) - expected) < 1e-3


def test_ms_ssim_matches_pytorch_msssim(color_image, gray_image) -> None:
    for seed, image in enumerate((color_image, gray_image)):
        x, y = to_tensor(image), to_tensor(add_noise(image, seed=seed))
        expected = pytorch_msssim.ms_ssim(x, y, data_range=1.0)
        assert abs(float(ms_ssim(x, y)) - float(expected)) < 1e-3


def test_ms_ssim_with_one_scale_is_ssim(color_image) -> None:
    x, y = to_tensor(color_image), to_tensor(add_noise(color_image, seed=4))
    assert abs(float(ms_ssim(x, y, weights=[1.0])) - float(ssim(x, y))) < 1e-12


def test_identical_images_give_zero_loss(color_image) -> None:
    x = to_tensor(color_image)
    assert float(SSIM()(x, x)) == pytest.approx(0, abs=1e-9)
    assert float(MSSSIM()(x, x)) == pytest.approx(0, abs=1e-9)


def test_losses_pass_gradcheck() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    y = (x.detach() * 0.7 + 0.15 * torch.rand_like(x)).clamp(0, 1)
    assert torch.autograd.gradcheck(lambda a: SSIM(window_size=5)(a, y), (x,))
    ms = MSSSIM(window_size=3, weights=(0.5, 0.5))
    assert torch.autograd.gradcheck(lambda a: ms(a, y), (x,))


def test_losses_are_registered() -> None:
    assert isinstance(build("losses", {"name": "ssim", "window_size": 7}), SSIM)
    assert isinstance(build("losses", "ms_ssim"), MSSSIM)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (
            torch.rand(1, 1, 16, 16),
            torch.rand(1, 1, 16, 15),
            r"same shape, got \(1, 1, 16, 16\) and \(1, 1, 16, 15\)",
        ),
        (torch.rand(1, 1, 16, 16) * 255, torch.rand(1, 1, 16, 16), r"expected values in \[0, 1\]"),
        (torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8), "height and width >= 11"),
        (torch.rand(16, 16), torch.rand(16, 16), r"expected shape \(N, C, H, W\)"),
    ],
)
def test_bad_inputs_name_what_is_expected(x, y, match) -> None:
    with pytest.raises(InputError, match=match):
        SSIM()(x, y)


def test_ms_ssim_names_the_smallest_size() -> None:
    with pytest.raises(InputError, match="height and width >= 161"):
        MSSSIM()(torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64))
    with pytest.raises(InputError, match="at least one scale"):
        ms_ssim(torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64), weights=[])
    with pytest.raises(InputError, match="positive odd number, got 4"):
        ssim(torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64), window_size=4)
