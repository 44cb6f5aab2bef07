import pytest
import torch

from accel.cv.color import rgb_to_hsv
from accel.cv.errors import InputError
from accel.cv.transforms.photometric import ColorJitter, Normalize


def test_brightness_scales_within_its_range_and_keeps_targets() -> None:
    images = torch.full((64, 1, 2, 2), 0.5)
    labels = torch.arange(64)
    out, out_labels = ColorJitter(brightness=0.4, seed=0)((images, labels))
    factors = out[:, 0, 0, 0] / 0.5
    assert factors.min() >= 0.6 - 1e-6
    assert factors.max() <= 1.4 + 1e-6
    assert factors.std() > 0.1
    assert torch.equal(out_labels, labels)


def test_jitter_keeps_the_unit_range_and_shifts_hue() -> None:
    torch.manual_seed(0)
    images = torch.rand(8, 3, 4, 4)
    out = ColorJitter(0.5, 0.5, 0.5, 0.2, seed=1)(images)
    assert out.min() >= 0
    assert out.max() <= 1
    red = torch.zeros(4, 3, 2, 2)
    red[:, 0] = 1
    hue = rgb_to_hsv(ColorJitter(hue=0.2, seed=2)(red))[:, 0, 0, 0]
    shift = torch.remainder(hue + 0.5, 1.0) - 0.5
    assert shift.abs().max() <= 0.2 + 1e-6
    assert shift.abs().max() > 0.01


def test_contrast_zero_factor_range_keeps_the_mean() -> None:
    torch.manual_seed(0)
    images = torch.rand(4, 1, 8, 8) * 0.5 + 0.25
    out = ColorJitter(contrast=0.5, seed=3)(images)
    assert torch.allclose(out.mean(dim=(1, 2, 3)), images.mean(dim=(1, 2, 3)), atol=1e-5)


def test_normalize_per_channel() -> None:
    images = torch.ones(2, 2, 3, 3)
    out = Normalize(mean=[0.5, 1.0], std=[0.5, 2.0])(images)
    assert torch.equal(out[:, 0], torch.ones(2, 3, 3))
    assert torch.equal(out[:, 1], torch.zeros(2, 3, 3))


def test_bad_inputs_name_what_is_expected() -> None:
    with pytest.raises(InputError, match=r"need RGB images \(N, 3, H, W\), got 1 channels"):
        ColorJitter(saturation=0.2, seed=0)(torch.rand(1, 1, 4, 4))
    with pytest.raises(InputError, match=r"expected values in \[0, 1\]"):
        ColorJitter(brightness=0.2, seed=0)(torch.rand(1, 3, 4, 4) * 255)
    with pytest.raises(
        InputError, match=r"expected 2 channels \(N, C, H, W\), got shape \(1, 3, 4, 4\)"
    ):
        Normalize([0, 0], [1, 1])(torch.rand(1, 3, 4, 4))
    with pytest.raises(InputError, match="std values must be > 0"):
        Normalize([0], [0])
    with pytest.raises(InputError, match="mean has 2 values, std 1"):
        Normalize([0, 0], [1])
    with pytest.raises(InputError, match=r"hue must be in \[0, 0.5\]"):
        ColorJitter(hue=0.7)
    with pytest.raises(InputError, match="brightness must be >= 0"):
        ColorJitter(brightness=-1)
