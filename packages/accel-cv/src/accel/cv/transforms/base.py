"""The base of the batched transforms: sample handling, target kinds and seeded randomness."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from accel.cv.checks import check_images
from accel.cv.errors import InputError

Sample = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def split_sample(sample: Any, who: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`images` or `(images, target)` -> (images, target or None), checking the shapes."""
    if isinstance(sample, torch.Tensor):
        images, target = sample, None
    elif isinstance(sample, (tuple, list)) and len(sample) == 2:
        images, target = sample
    else:
        raise InputError(f"{who}: expected images (N, C, H, W) or a pair (images, target)")
    check_images(images, f"{who} images")
    if target is not None:
        check_target(images, target, who)
    return images, target


def join_sample(images: torch.Tensor, target: torch.Tensor | None) -> Sample:
    return images if target is None else (images, target)


def check_target(images: torch.Tensor, target: torch.Tensor, who: str) -> None:
    """Require a target of the batch size; a dense target must match the image size."""
    if (
        not isinstance(target, torch.Tensor)
        or target.dim() == 0
        or target.shape[0] != images.shape[0]
    ):
        shape = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise InputError(
            f"{who}: expected a target with batch size {images.shape[0]} ((N,), (N, K), "
            f"(N, H, W) or (N, C, H, W)), got {shape}"
        )
    if is_dense(target) and tuple(target.shape[-2:]) != tuple(images.shape[-2:]):
        raise InputError(
            f"{who}: a dense target must have the image size {tuple(images.shape[-2:])}, got "
            f"shape {tuple(target.shape)}"
        )


def is_dense(target: torch.Tensor) -> bool:
    """A per-pixel target ((N, H, W) or (N, C, H, W)), which geometry must move too."""
    return target.dim() >= 3


class BatchTransform:
    """A transform with its own random stream: the same seed gives the same outputs.

    `seed=None` draws a seed from torch's global generator at construction, so
    `torch.manual_seed` makes a pipeline reproducible too. Random parameters are drawn on the
    CPU, then moved to the batch's device: results do not depend on the device.
    """

    name = "transform"

    def __init__(self, seed: int | None = None) -> None:
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the random stream from `seed`."""
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def __call__(self, sample: Sample) -> Sample:
        images, target = split_sample(sample, self.name)
        images, target = self.apply(images, target)
        return join_sample(images, target)

    def apply(
        self, images: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "rng")
        return f"{type(self).__name__}({fields})"

    def tensor(self, values: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        """Random parameters drawn on the CPU as a tensor on `like`'s device and dtype."""
        return torch.as_tensor(values, dtype=like.dtype).to(like.device)
