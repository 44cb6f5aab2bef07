"""Known patterns for alignment tests: a class map and images that encode it."""

from __future__ import annotations

import torch

CLASSES = 4


def class_map(n: int = 3, height: int = 16, width: int = 20) -> torch.Tensor:
    """(n, H, W) long: blocks of classes 0..3 in a layout that differs per sample."""
    rows = torch.arange(height).view(-1, 1) // 4
    cols = torch.arange(width).view(1, -1) // 5
    return torch.stack([((rows + 2 * cols + i) % CLASSES) for i in range(n)])


def encode(mask: torch.Tensor, channels: int = 3) -> torch.Tensor:
    """Images (n, C, H, W) whose every channel is the class map / (CLASSES - 1)."""
    return (mask.float() / (CLASSES - 1)).unsqueeze(1).repeat(1, channels, 1, 1)


def decode(images: torch.Tensor) -> torch.Tensor:
    """The class map an `encode`d image shows."""
    return (images[:, 0] * (CLASSES - 1)).round().long()
