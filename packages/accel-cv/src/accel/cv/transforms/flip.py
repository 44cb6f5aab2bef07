"""Random horizontal and vertical flips (exact: no resampling)."""

from __future__ import annotations

import torch

from accel.cv.errors import InputError
from accel.cv.transforms.base import BatchTransform, is_dense


def flip_where(x: torch.Tensor, chosen: torch.Tensor, dim: int) -> torch.Tensor:
    """Flip the samples of `x` selected by the boolean `chosen` (N,) along `dim`."""
    shape = (-1,) + (1,) * (x.dim() - 1)
    return torch.where(chosen.view(shape), x.flip(dim), x)


class RandomFlip(BatchTransform):
    """Flip each sample left-right (and/or up-down) with probability `p`.

    Images (N, C, H, W) of any range; dense targets flip with their image. Mind the data:
    a flipped digit or text is another thing.
    """

    name = "random_flip"

    def __init__(
        self,
        p: float = 0.5,
        horizontal: bool = True,
        vertical: bool = False,
        seed: int | None = None,
    ) -> None:
        if not 0 <= p <= 1:
            raise InputError(f"{self.name}: p must be in [0, 1], got {p}")
        if not (horizontal or vertical):
            raise InputError(f"{self.name}: enable horizontal or vertical (or both)")
        self.p = p
        self.horizontal = horizontal
        self.vertical = vertical
        super().__init__(seed)

    def apply(
        self, images: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        for enabled, dim in ((self.horizontal, -1), (self.vertical, -2)):
            if not enabled:
                continue
            chosen = torch.as_tensor(self.rng.random(images.shape[0]) < self.p)
            chosen = chosen.to(images.device)
            images = flip_where(images, chosen, dim)
            if target is not None and is_dense(target):
                target = flip_where(target, chosen, dim)
        return images, target
