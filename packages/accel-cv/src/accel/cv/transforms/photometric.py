"""Photometric transforms: random color jitter and per-channel normalization."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from accel.cv.checks import check_range
from accel.cv.color import hsv_to_rgb, rgb_to_gray, rgb_to_hsv
from accel.cv.errors import InputError
from accel.cv.transforms.base import BatchTransform


def _blend(a: torch.Tensor, b: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """factor * a + (1 - factor) * b, clamped to [0, 1]; `factor` is (N,)."""
    f = factor.view(-1, 1, 1, 1)
    return (f * a + (1 - f) * b).clamp(0, 1)


class ColorJitter(BatchTransform):
    """Random brightness, contrast, saturation and hue per sample, in that fixed order.

    Images (N, C, H, W) in [0, 1]; saturation and hue need C = 3 (RGB). Each strength s draws a
    factor in [1 - s, 1 + s] (hue: a shift in [-s, s] of a turn, s <= 0.5).
    """

    name = "color_jitter"

    def __init__(
        self,
        brightness: float = 0.0,
        contrast: float = 0.0,
        saturation: float = 0.0,
        hue: float = 0.0,
        seed: int | None = None,
    ) -> None:
        for label, value in (
            ("brightness", brightness),
            ("contrast", contrast),
            ("saturation", saturation),
        ):
            if value < 0:
                raise InputError(f"{self.name}: {label} must be >= 0, got {value}")
        if not 0 <= hue <= 0.5:
            raise InputError(f"{self.name}: hue must be in [0, 0.5], got {hue}")
        self.brightness, self.contrast = brightness, contrast
        self.saturation, self.hue = saturation, hue
        super().__init__(seed)

    def _factors(self, strength: float, n: int, like: torch.Tensor) -> torch.Tensor:
        return self.tensor(self.rng.uniform(max(0.0, 1 - strength), 1 + strength, n), like)

    def apply(
        self, images: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        check_range(images, f"{self.name} images", (0.0, 1.0))
        n, channels = images.shape[:2]
        if (self.saturation or self.hue) and channels != 3:
            raise InputError(
                f"{self.name}: saturation and hue need RGB images (N, 3, H, W), "
                f"got {channels} channels"
            )
        if self.brightness:
            images = _blend(
                images, torch.zeros_like(images), self._factors(self.brightness, n, images)
            )
        if self.contrast:
            gray = rgb_to_gray(images) if channels == 3 else images
            mean = gray.mean(dim=(1, 2, 3), keepdim=True).expand_as(images)
            images = _blend(images, mean, self._factors(self.contrast, n, images))
        if self.saturation:
            gray = rgb_to_gray(images).expand_as(images)
            images = _blend(images, gray, self._factors(self.saturation, n, images))
        if self.hue:
            shift = self.tensor(self.rng.uniform(-self.hue, self.hue, n), images).view(-1, 1, 1)
            h, s, v = rgb_to_hsv(images).unbind(1)
            images = hsv_to_rgb(torch.stack((torch.remainder(h + shift, 1.0), s, v), dim=1))
        return images.clamp(0, 1), target


class Normalize(BatchTransform):
    """`(images - mean) / std` per channel, for images (N, C, H, W) with C = len(mean)."""

    name = "normalize"

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        if len(mean) != len(std):
            raise InputError(f"{self.name}: mean has {len(mean)} values, std {len(std)}")
        if any(s <= 0 for s in std):
            raise InputError(f"{self.name}: std values must be > 0, got {list(std)}")
        self.mean, self.std = list(mean), list(std)
        super().__init__(0)

    def apply(
        self, images: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if images.shape[1] != len(self.mean):
            raise InputError(
                f"{self.name}: expected {len(self.mean)} channels (N, C, H, W), got shape "
                f"{tuple(images.shape)}"
            )
        mean = torch.tensor(self.mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
        return (images - mean) / std, target
