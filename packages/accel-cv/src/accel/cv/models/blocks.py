"""Shared building blocks: conv-BN-activation and the ResNet basic block."""

from __future__ import annotations

import torch
from torch import nn


def check_model_args(who: str, num_classes: int, in_channels: int) -> None:
    """One-line errors for impossible head or stem sizes."""
    from accel.core.errors import ConfigError

    if num_classes < 1 or in_channels < 1:
        raise ConfigError(
            f"{who}: num_classes and in_channels must be >= 1, got {num_classes} and {in_channels}"
        )


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> its own activation (ReLU, ReLU6 or none)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        activation: str | None = "relu",
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding=kernel_size // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
        ]
        if activation == "relu":
            layers.append(nn.ReLU(inplace=True))
        elif activation == "relu6":
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with a residual; a 1×1 conv-BN shortcut when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))
