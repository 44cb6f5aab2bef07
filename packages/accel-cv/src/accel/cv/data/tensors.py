"""In-memory image datasets and seeded stratified splits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from torch.utils.data import TensorDataset

from accel.core.errors import ConfigError


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Both in [0, 1) with room left for training."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"data: val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must be "
            "in [0, 1) and sum to less than 1"
        )


def stratified_split(
    labels: Sequence[int] | np.ndarray, fractions: Sequence[float], seed: int
) -> list[np.ndarray]:
    """Split indices into len(fractions) + 1 parts (the last takes the rest), per class ratio."""
    labels = np.asarray(labels)
    remaining = np.arange(len(labels))
    parts: list[np.ndarray] = []
    left = 1.0
    for fraction in fractions:
        if fraction == 0:
            parts.append(np.array([], dtype=np.int64))
            continue
        counts = np.bincount(labels[remaining])
        stratify = labels[remaining] if counts[counts > 0].min() >= 2 else None
        rest, taken = train_test_split(
            remaining, test_size=fraction / left, random_state=seed, stratify=stratify
        )
        parts.append(np.sort(taken))
        remaining, left = np.sort(rest), left - fraction
    return [remaining, *parts]


def resize_images(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """Resize (N, C, H, W) to `size` x `size` (bilinear, antialiased when shrinking)."""
    if size is None or tuple(images.shape[-2:]) == (size, size):
        return images
    if size < 1:
        raise ConfigError(f"data: image_size must be >= 1, got {size}")
    resized = F.interpolate(
        images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized.clamp(0, 1)


def tensor_dataset(
    images: torch.Tensor, labels: torch.Tensor, index: np.ndarray
) -> TensorDataset | None:
    """A dataset over the rows `index`, or None when the split is empty."""
    if len(index) == 0:
        return None
    rows = torch.as_tensor(index, dtype=torch.long)
    return TensorDataset(images[rows], labels[rows])
