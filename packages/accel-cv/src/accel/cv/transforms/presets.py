"""A ready-made training pipeline for image classification."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from accel.cv.errors import InputError
from accel.cv.transforms.compose import Compose
from accel.cv.transforms.flip import RandomFlip
from accel.cv.transforms.geometry import RandomResizedCrop, RandomRotation
from accel.cv.transforms.mixing import CutMix, Mixup
from accel.cv.transforms.photometric import ColorJitter, Normalize


def classification_preset(
    size: int | tuple[int, int],
    num_classes: int | None = None,
    crop_scale: tuple[float, float] = (0.5, 1.0),
    flip: bool = True,
    rotation: float = 0.0,
    brightness: float = 0.2,
    contrast: float = 0.2,
    saturation: float = 0.0,
    hue: float = 0.0,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    mixup_alpha: float = 0.0,
    cutmix_alpha: float = 0.0,
    seed: int = 0,
) -> Compose:
    """Random resized crop, flip, rotation, color jitter, normalize, then Mixup/CutMix.

    Input: images (N, C, H, W) in [0, 1] with class indices (N,). Steps with a zero strength are
    left out. Mixup/CutMix need `num_classes` and turn the targets into probabilities (N, K).
    Turn `flip` off for data whose meaning is not mirror-symmetric (digits, text).
    """
    steps: list[Callable[[Any], Any]] = [RandomResizedCrop(size, scale=crop_scale, seed=seed)]
    if flip:
        steps.append(RandomFlip(seed=seed + 1))
    if rotation:
        steps.append(RandomRotation(rotation, seed=seed + 2))
    if brightness or contrast or saturation or hue:
        steps.append(ColorJitter(brightness, contrast, saturation, hue, seed=seed + 3))
    if (mean is None) != (std is None):
        raise InputError("classification_preset: give both mean and std, or neither")
    if mean is not None and std is not None:
        steps.append(Normalize(mean, std))
    if mixup_alpha and cutmix_alpha:
        raise InputError(
            "classification_preset: received both mixup_alpha and cutmix_alpha. Choose one."
        )
    if mixup_alpha:
        steps.append(Mixup(mixup_alpha, num_classes, seed=seed + 4))
    if cutmix_alpha:
        steps.append(CutMix(cutmix_alpha, num_classes, seed=seed + 5))
    return Compose(steps)
