import numpy as np
import pytest
import torch
from cv_helpers import add_noise, to_tensor
from skimage import color as skcolor

from accel.cv.errors import InputError
from accel.cv.losses.color_difference import DeltaE, DeltaE2000, delta_e76, delta_e2000


def lab_pair(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return skcolor.rgb2lab(image), skcolor.rgb2lab(add_noise(image, seed=1, sigma=0.1))


def test_delta_e_formulas_match_scikit_image(color_image, coffee_image) -> None:
    for image in (color_image, coffee_image):
        lab1, lab2 = lab_pair(image)
        x, y = to_tensor(lab1)[0], to_tensor(lab2)[0]
        np.testing.assert_allclose(
            delta_e76(x, y).numpy(), skcolor.deltaE_cie76(lab1, lab2), atol=1e-5
        )
        np.testing.assert_allclose(
            delta_e2000(x, y).numpy(), skcolor.deltaE_ciede2000(lab1, lab2), atol=1e-5
        )


def test_ciede2000_reference_pairs_of_sharma() -> None:
    # rows of the test data published with Sharma, Wu & Dalal (2005)
    lab1 = torch.tensor(
        [
            [50.0, 2.6772, -79.7751],
            [50.0, -1.3802, -84.2814],
            [50.0, 2.5, 0.0],
            [60.2574, -34.0099, 36.2677],
        ]
    )
    lab2 = torch.tensor(
        [
            [50.0, 0.0, -82.7485],
            [50.0, 0.0, -82.7485],
            [50.0, 0.0, -2.5],
            [60.4626, -34.1751, 39.4387],
        ]
    )
    expected = torch.tensor([2.0425, 1.0000, 4.3065, 1.2644])
    got = delta_e2000(lab1.T.view(1, 3, 1, 4).double(), lab2.T.view(1, 3, 1, 4).double())
    assert torch.allclose(got.flatten().float(), expected, atol=1e-4)


def test_losses_convert_rgb_and_are_zero_on_equal_images(color_image) -> None:
    rgb = to_tensor(color_image)
    noisy = to_tensor(add_noise(color_image, seed=2))
    expected = skcolor.deltaE_ciede2000(
        skcolor.rgb2lab(color_image), skcolor.rgb2lab(noisy[0].permute(1, 2, 0).numpy())
    ).mean()
    assert float(DeltaE2000()(noisy, rgb)) == pytest.approx(expected, abs=1e-5)
    assert float(DeltaE()(rgb, rgb)) == 0
    lab = skcolor.rgb2lab(color_image)
    assert float(DeltaE(space="lab")(to_tensor(lab), to_tensor(lab) + 1)) == pytest.approx(3**0.5)


def test_losses_pass_gradcheck_and_stay_finite_at_zero() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 3, 3, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: DeltaE()(a, y), (x,))
    assert torch.autograd.gradcheck(lambda a: DeltaE2000()(a, y), (x,))
    for loss in (DeltaE(), DeltaE2000()):
        z = y.clone().requires_grad_()
        loss(z, y).backward()
        assert z.grad is not None
        assert torch.isfinite(z.grad).all()


def test_bad_inputs_name_what_is_expected() -> None:
    with pytest.raises(InputError, match=r"expected 3 channels .* got shape \(1, 1, 4, 4\)"):
        DeltaE()(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4))
    with pytest.raises(InputError, match=r"expected values in \[0, 1\]"):
        DeltaE2000()(torch.rand(1, 3, 4, 4) * 2, torch.rand(1, 3, 4, 4))
    with pytest.raises(InputError, match="space 'hsv' is not one of rgb, lab"):
        DeltaE(space="hsv")
