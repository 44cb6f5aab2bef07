"""A tiny model and data module for accel-cli's own tests (only accel-core is installed)."""

from __future__ import annotations

from typing import Any


class TinyNet:
    """Built lazily (torch imported on construction): a linear classifier on 8x8 images."""

    def __new__(cls, in_channels: int = 1, num_classes: int = 10) -> Any:
        from torch import nn

        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 64, num_classes))


class TinyData:
    """Random 8x8 images with a learnable label (brightest quadrant), seeded."""

    def __init__(self, batch_size: int = 16, size: int = 64, seed: int = 0) -> None:
        self.batch_size, self.size, self.seed = batch_size, size, seed

    def _loader(self, offset: int) -> Any:
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        g = torch.Generator().manual_seed(self.seed + offset)
        x = torch.rand(self.size, 1, 8, 8, generator=g)
        y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
        return DataLoader(TensorDataset(x, y), batch_size=self.batch_size)

    def train_dataloader(self) -> Any:
        return self._loader(0)

    def val_dataloader(self) -> Any:
        return self._loader(1)

    def test_dataloader(self) -> Any:
        return self._loader(2)


class TinyCnn:
    """conv-bn-relu x2, pool, linear: small enough for tests, prunable by channel."""

    def __new__(cls, in_channels: int = 1, num_classes: int = 2, width: int = 8) -> Any:
        from torch import nn

        return nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, num_classes),
        )


class CheckPass:
    """A compression pass for tests: returns the model unchanged, or fails while a file exists."""

    def __init__(self, fail_while: str | None = None) -> None:
        self.fail_while = fail_while

    def __call__(self, artifact: Any, context: Any) -> Any:
        from pathlib import Path

        if self.fail_while and Path(self.fail_while).exists():
            raise RuntimeError(f"asked to fail while {self.fail_while} exists")
        context.record("check", seen=type(artifact).__name__)
        return artifact


class Explodes:
    """A model whose constructor raises `error` (a builtin exception's name), as a bug in a
    component would: for the CLI's last-resort handling of what is not an accel error."""

    def __new__(
        cls, error: str = "RuntimeError", in_channels: int = 1, num_classes: int = 2
    ) -> Any:
        import builtins

        raise getattr(builtins, error)(f"{error.lower()} from a component")
