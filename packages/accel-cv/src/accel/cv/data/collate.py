"""Collate a batch, then run a batched transform on it (in the loader's process or worker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import default_collate, get_worker_info


class TransformCollate:
    """`default_collate`, then `transform((images, targets))` if a transform is given.

    In a worker process the transform is reseeded from the worker's seed (which the loader
    draws anew each epoch from its seeded generator): workers differ, runs repeat.
    """

    def __init__(self, transform: Callable[[Any], Any] | None) -> None:
        self.transform = transform
        self._worker_seed: int | None = None

    def __call__(self, batch: list[Any]) -> Any:
        images, targets = default_collate(batch)
        if self.transform is None:
            return images, targets
        info = get_worker_info()
        if (
            info is not None
            and info.seed != self._worker_seed
            and hasattr(self.transform, "reseed")
        ):
            self.transform.reseed(info.seed % 2**31)
            self._worker_seed = info.seed
        return self.transform((images, targets))


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU generator for a loader's shuffling."""
    return torch.Generator().manual_seed(seed)
