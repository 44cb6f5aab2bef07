import pytest
import torch

from accel.core.registry import build
from accel.cv.color import rgb_to_lab
from accel.cv.errors import InputError
from accel.cv.transforms.color import ConvertColor, LABToRgb, RGBToGray, RGBToLab


def test_named_conversions_convert_images_and_keep_targets() -> None:
    images, labels = torch.rand(2, 3, 4, 4), torch.tensor([0, 1])
    lab, out_labels = RGBToLab()((images, labels))
    assert torch.allclose(lab, rgb_to_lab(images))
    assert torch.equal(out_labels, labels)
    assert torch.allclose(LABToRgb()(lab), images, atol=1e-4)
    assert RGBToGray()(images).shape == (2, 1, 4, 4)


def test_registered_names_build() -> None:
    for name in ("rgb_to_ycbcr", "ycbcr_to_rgb", "rgb_to_hsv", "hsv_to_rgb", "gray_to_rgb"):
        assert isinstance(build("transforms", name), ConvertColor)
    assert (
        build("transforms", {"name": "convert_color", "source": "rgb", "target": "xyz"}).target
        == "xyz"
    )


def test_bad_inputs_are_named() -> None:
    with pytest.raises(InputError, match="no conversion lab->hsv; available: rgb->ycbcr"):
        ConvertColor("lab", "hsv")
    with pytest.raises(
        InputError, match=r"rgb->lab: expected 3 channels \(N, C, H, W\), got shape \(1, 1, 4, 4\)"
    ):
        RGBToLab()(torch.rand(1, 1, 4, 4))
    with pytest.raises(InputError, match=r"expected values in \[0, 1\]"):
        RGBToLab()(torch.rand(1, 3, 4, 4) + 1.5)
