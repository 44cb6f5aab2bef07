"""Helpers shared by accel-cv's tests (imported by name: the tests folder is on sys.path)."""

from __future__ import annotations

import numpy as np
import torch


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) float array -> (1, C, H, W) float64 tensor."""
    array = image[..., None] if image.ndim == 2 else image
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0)


def add_noise(image: np.ndarray, seed: int, sigma: float = 0.08) -> np.ndarray:
    """The image plus clipped Gaussian noise, for a realistic distorted copy."""
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.clip(image + noise, 0, 1)
