"""Cross-domain transforms, registered in `accel.transforms`: compose and normalize.

A transform maps one sample (or batch) to a new one and keeps no hidden global state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from accel.core.errors import ConfigError
from accel.core.registry import build


class Compose:
    """Apply transforms in order; items are callables or registry specs (`"name"`, `{name: }`)."""

    def __init__(self, transforms: Sequence[Any]) -> None:
        if isinstance(transforms, str | bytes) or not isinstance(transforms, Sequence):
            raise ConfigError(
                f"transform 'compose': transforms must be a list, got {type(transforms).__name__}"
            )
        self.transforms: list[Callable[[Any], Any]] = [
            t if callable(t) else build("transforms", t) for t in transforms
        ]

    def __call__(self, sample: Any) -> Any:
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Normalize:
    """`(x - mean) / std` per channel of `(C, ...)` or `(N, C, ...)` tensors (`dim`: channel)."""

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float, dim: int = -3):
        mean_t = torch.as_tensor(mean, dtype=torch.float32)
        std_t = torch.as_tensor(std, dtype=torch.float32)
        if mean_t.shape != std_t.shape:
            raise ConfigError(
                f"transform 'normalize': mean has {mean_t.numel()} values, std has {std_t.numel()}"
            )
        if bool((std_t == 0).any()):
            raise ConfigError(f"transform 'normalize': std must be non-zero, got {std_t.tolist()}")
        self.mean, self.std, self.dim = mean_t, std_t, dim

    def __call__(self, sample: Tensor) -> Tensor:
        if self.mean.ndim == 0:
            return (sample - self.mean.to(sample)) / self.std.to(sample)
        shape = [1] * sample.ndim
        shape[self.dim] = -1
        mean = self.mean.to(sample).reshape(shape)
        std = self.std.to(sample).reshape(shape)
        return (sample - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"
