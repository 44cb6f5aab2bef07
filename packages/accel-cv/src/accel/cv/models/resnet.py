"""ResNet-18-style network for larger inputs (ImageNet layout, optional small-image stem)."""

from __future__ import annotations

import torch
from torch import nn

from accel.cv.models.blocks import BasicBlock, ConvBNAct, check_model_args
from accel.cv.models.resnet_cifar import init_weights


class ResNet18(nn.Module):
    """ResNet-18 layout: 4 stages of 2 basic blocks (64-512 channels).

    Input (N, in_channels, H, W) -> logits (N, num_classes). The default stem (7×7 stride 2 +
    max-pool) suits 224² images; `small_input=True` uses a 3×3 stride-1 stem for 32² or less.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        width: int = 64,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        check_model_args("resnet18", num_classes, in_channels)
        if small_input:
            self.stem: nn.Module = ConvBNAct(in_channels, width, 3)
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, width, 7, 2, 3, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2, 1),
            )
        blocks, channels = [], width
        for stage in range(4):
            out = width * 2**stage
            for index in range(2):
                blocks.append(BasicBlock(channels, out, 2 if stage and not index else 1))
                channels = out
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def resnet18(
    num_classes: int = 1000, in_channels: int = 3, width: int = 64, small_input: bool = False
) -> ResNet18:
    """ResNet-18-style (11.7 M parameters at width 64 and 1000 classes)."""
    return ResNet18(num_classes, in_channels, width, small_input)
