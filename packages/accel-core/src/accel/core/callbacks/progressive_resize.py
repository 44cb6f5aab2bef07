"""Progressive resizing: train on smaller images in early epochs, on larger ones later.

Registered as `accel.callbacks: progressive_resize`. A schedule maps the first epoch (0-based)
of each phase to an input size: `{0: 16, 3: 24, 6: 32}`; before the first listed epoch, and in
validation and testing, the data keeps its own size. Training batches (N, C, H, W) are resized
on the way into the model (a forward pre-hook, `torch.nn.functional.interpolate`). The size is
a function of the epoch alone, so a resumed run, mid-schedule included, sees the same sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from accel.core.callbacks.base import Callback
from accel.core.errors import ConfigError

MODES = ("bilinear", "bicubic", "nearest", "area")


class ProgressiveResize(Callback):
    """Resize training images to `schedule[epoch]` (int: square; [h, w]), by `mode`."""

    priority = "high"

    def __init__(self, *, schedule: Mapping[Any, Any], mode: str = "bilinear") -> None:
        self.schedule = parse_schedule(schedule)
        if mode not in MODES:
            raise ConfigError(
                f"progressive_resize.mode={mode!r} is not valid; use one of {', '.join(MODES)}"
            )
        self.mode = mode
        self.size: tuple[int, int] | None = None
        self._hook: Any = None

    def size_at(self, epoch: int) -> tuple[int, int] | None:
        """The training input size of `epoch` (None: the data's own)."""
        found = None
        for start, size in self.schedule:
            if start <= epoch:
                found = size
        return found

    def on_fit_start(self, state: Any) -> None:
        self._remove()
        self._hook = state.model.register_forward_pre_hook(self._resize)

    def on_epoch_start(self, state: Any) -> None:
        self.size = self.size_at(state.epoch)

    def on_fit_end(self, state: Any) -> None:
        self._remove()

    def on_exception(self, state: Any) -> None:
        self._remove()

    def _remove(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _resize(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not module.training or self.size is None or not args:
            return None
        images = args[0]
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
            raise ConfigError(
                f"progressive_resize needs image batches (N, C, H, W); the model got {shape}"
            )
        if tuple(images.shape[-2:]) == self.size:
            return None
        corners = False if self.mode in ("bilinear", "bicubic") else None
        resized = F.interpolate(images, size=self.size, mode=self.mode, align_corners=corners)
        return (resized, *args[1:])


def parse_schedule(schedule: Any) -> list[tuple[int, tuple[int, int]]]:
    """`{epoch: size}` (epoch keys may be strings, as YAML and OmegaConf give them) as a
    sorted list; every bad entry is one line naming it."""
    if not isinstance(schedule, Mapping) or not schedule:
        raise ConfigError(
            f"progressive_resize.schedule must map epochs to sizes, e.g. {{0: 16, 3: 32}}; "
            f"got {schedule!r}"
        )
    parsed = []
    for key, value in schedule.items():
        epoch = int(key) if isinstance(key, str) and key.isdigit() else key
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ConfigError(f"progressive_resize.schedule: {key!r} is not an epoch (int >= 0)")
        parsed.append((epoch, parse_size(value, epoch)))
    return sorted(parsed)


def parse_size(value: Any, epoch: int) -> tuple[int, int]:
    sizes = [value, value] if isinstance(value, int) else value
    if (
        not isinstance(sizes, list | tuple)
        or len(sizes) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)
    ):
        raise ConfigError(
            f"progressive_resize.schedule[{epoch}]: size must be an int >= 1 or [height, "
            f"width], got {value!r}"
        )
    return int(sizes[0]), int(sizes[1])
