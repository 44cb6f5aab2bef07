"""Color-space conversions as transforms (for inputs, or before a loss)."""

from __future__ import annotations

import torch

from accel.cv.checks import check_range
from accel.cv.color import CONVERSIONS
from accel.cv.errors import InputError
from accel.cv.transforms.base import BatchTransform

CHANNELS = {"rgb": 3, "ycbcr": 3, "lab": 3, "hsv": 3, "xyz": 3, "gray": 1}
UNIT_RANGE = ("rgb", "ycbcr", "hsv")


class ConvertColor(BatchTransform):
    """Convert images (N, C, H, W) from `source` to `target` space (ranges: `accel.cv.color`).

    Pairs: rgb <-> ycbcr, lab, hsv, gray, xyz. Inputs in an RGB/YCbCr/HSV space must lie in
    [0, 1]. Dense targets are left alone.
    """

    name = "convert_color"

    def __init__(self, source: str = "rgb", target: str = "lab") -> None:
        if (source, target) not in CONVERSIONS:
            pairs = ", ".join(f"{a}->{b}" for a, b in CONVERSIONS)
            raise InputError(f"{self.name}: no conversion {source}->{target}; available: {pairs}")
        self.source, self.target = source, target
        self.convert = CONVERSIONS[(source, target)]
        super().__init__(0)

    def apply(
        self, images: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        want = CHANNELS[self.source]
        if images.shape[1] != want:
            raise InputError(
                f"{self.name} {self.source}->{self.target}: expected {want} channels "
                f"(N, C, H, W), got shape {tuple(images.shape)}"
            )
        if self.source in UNIT_RANGE:
            check_range(images, f"{self.name} {self.source} images", (0.0, 1.0))
        return self.convert(images), target


def _fixed(source: str, target: str) -> type[ConvertColor]:
    def init(self: ConvertColor) -> None:
        ConvertColor.__init__(self, source, target)

    doc = f"Convert images (N, C, H, W) from {source} to {target} (see `ConvertColor`)."
    name = f"{source.upper()}To{target.capitalize()}"
    return type(name, (ConvertColor,), {"__init__": init, "__doc__": doc})


RGBToYcbcr = _fixed("rgb", "ycbcr")
YCBCRToRgb = _fixed("ycbcr", "rgb")
RGBToLab = _fixed("rgb", "lab")
LABToRgb = _fixed("lab", "rgb")
RGBToHsv = _fixed("rgb", "hsv")
HSVToRgb = _fixed("hsv", "rgb")
RGBToGray = _fixed("rgb", "gray")
GRAYToRgb = _fixed("gray", "rgb")
