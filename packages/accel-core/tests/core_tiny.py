"""A tiny real model and data module for runtime tests (registered by the `tiny` fixture)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class TinyNet(nn.Module):
    """An MLP with dropout, so RNG state matters for exact resume."""

    def __init__(self, in_features: int = 8, hidden: int = 16, num_classes: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def tiny_tensors(n: int = 96, in_features: int = 8, num_classes: int = 3) -> TensorDataset:
    generator = torch.Generator().manual_seed(1234)
    x = torch.randn(n, in_features, generator=generator)
    y = (x[:, :num_classes].argmax(1)).long()
    return TensorDataset(x, y)


class TinyData:
    """A DataModule over fixed random data (its own generator: building it consumes no RNG)."""

    def __init__(self, batch_size: int = 8, n: int = 96, num_classes: int = 3) -> None:
        self.batch_size, self.num_classes = batch_size, num_classes
        self.dataset = tiny_tensors(n, num_classes=num_classes)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=32)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=32)
