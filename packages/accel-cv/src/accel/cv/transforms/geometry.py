"""Geometric transforms by one affine warp per sample: random resized crop and rotation.

Images are resampled bilinearly (or nearest); dense targets follow the same warp with nearest
sampling for class maps, so image and target stay aligned pixel for pixel.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from accel.cv.errors import InputError
from accel.cv.transforms.base import BatchTransform, is_dense

MODES = ("bilinear", "nearest")


def warp(
    x: torch.Tensor, theta: torch.Tensor, size: tuple[int, int], mode: str, fill: float
) -> torch.Tensor:
    """Sample (N, C, H, W) through affine maps `theta` (N, 2, 3) to (N, C, *size), fill outside."""
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], *size], align_corners=False)
    out = F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill == 0:
        return out
    inside = F.grid_sample(torch.ones_like(x[:, :1]), grid, mode=mode, align_corners=False)
    return out + (1 - inside) * fill


def warp_target(
    target: torch.Tensor, theta: torch.Tensor, size: tuple[int, int], fill: float
) -> torch.Tensor:
    """Warp a dense target: class maps (integer) by nearest sampling, float maps bilinearly."""
    if not is_dense(target):
        return target
    squeeze = target.dim() == 3
    maps = target.unsqueeze(1) if squeeze else target
    if maps.is_floating_point():
        out = warp(maps, theta.to(maps.dtype), size, "bilinear", fill)
    else:
        out = warp(maps.double(), theta.double(), size, "nearest", fill).round().to(target.dtype)
    return out.squeeze(1) if squeeze else out


def _check_mode(mode: str, who: str) -> str:
    if mode not in MODES:
        raise InputError(f"{who}: interpolation {mode!r} is not one of {', '.join(MODES)}")
    return mode


def _pair(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


class RandomResizedCrop(BatchTransform):
    """Crop a random area `scale` (fraction) with aspect `ratio` per sample, resized to `size`.

    Images (N, C, H, W) of any range -> (N, C, *size); dense targets are cropped identically.
    Crops larger than the image are clamped to it. Resizing is bilinear without antialiasing.
    """

    name = "random_resized_crop"

    def __init__(
        self,
        size: int | tuple[int, int],
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        interpolation: str = "bilinear",
        seed: int | None = None,
    ) -> None:
        if not 0 < scale[0] <= scale[1] <= 1:
            raise InputError(f"{self.name}: scale must satisfy 0 < min <= max <= 1, got {scale}")
        if not 0 < ratio[0] <= ratio[1]:
            raise InputError(f"{self.name}: ratio must satisfy 0 < min <= max, got {ratio}")
        self.size = _pair(size)
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))
        self.interpolation = _check_mode(interpolation, self.name)
        super().__init__(seed)

    def boxes(self, n: int, height: int, width: int) -> np.ndarray:
        """Random crop boxes (n, 4) as (x0, y0, w, h) in pixels."""
        area = self.rng.uniform(*self.scale, size=n) * height * width
        log_ratio = self.rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), size=n)
        aspect = np.exp(log_ratio)
        w = np.clip(np.sqrt(area * aspect), 1, width)
        h = np.clip(np.sqrt(area / aspect), 1, height)
        x0 = self.rng.uniform(0, 1, size=n) * (width - w)
        y0 = self.rng.uniform(0, 1, size=n) * (height - h)
        return np.stack((x0, y0, w, h), axis=1)

    def apply(
        self, images: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        n, _, height, width = images.shape
        x0, y0, w, h = self.boxes(n, height, width).T
        theta = np.zeros((n, 2, 3))
        theta[:, 0, 0], theta[:, 1, 1] = w / width, h / height
        theta[:, 0, 2] = (x0 + w / 2) / width * 2 - 1
        theta[:, 1, 2] = (y0 + h / 2) / height * 2 - 1
        t = self.tensor(theta, images)
        out = warp(images, t, self.size, self.interpolation, 0.0)
        return out, None if target is None else warp_target(target, t, self.size, 0.0)


class RandomRotation(BatchTransform):
    """Rotate each sample by an angle drawn from `degrees` (about the centre), same size.

    Images (N, C, H, W) of any range; uncovered corners take `fill` (images) and `target_fill`
    (dense targets, e.g. an ignore index for segmentation).
    """

    name = "random_rotation"

    def __init__(
        self,
        degrees: float | tuple[float, float] = 15.0,
        interpolation: str = "bilinear",
        fill: float = 0.0,
        target_fill: float = 0.0,
        seed: int | None = None,
    ) -> None:
        low, high = (-abs(degrees), abs(degrees)) if isinstance(degrees, (int, float)) else degrees
        if low > high:
            raise InputError(
                f"{self.name}: degrees must be (min, max) with min <= max, got {degrees}"
            )
        self.degrees = (float(low), float(high))
        self.interpolation = _check_mode(interpolation, self.name)
        self.fill = fill
        self.target_fill = target_fill
        super().__init__(seed)

    def apply(
        self, images: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        n, _, height, width = images.shape
        angle = np.deg2rad(self.rng.uniform(*self.degrees, size=n))
        cos, sin = np.cos(angle), np.sin(angle)
        theta = np.zeros((n, 2, 3))
        theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * height / width
        theta[:, 1, 0], theta[:, 1, 1] = sin * width / height, cos
        t = self.tensor(theta, images)
        size = (height, width)
        out = warp(images, t, size, self.interpolation, self.fill)
        return out, None if target is None else warp_target(target, t, size, self.target_fill)
