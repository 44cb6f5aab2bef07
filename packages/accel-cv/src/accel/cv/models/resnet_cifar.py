"""CIFAR-style ResNets (He et al. 2016, §4.2): 3 stages of 16/32/64 channels, 6n+2 layers."""

from __future__ import annotations

import torch
from torch import nn

from accel.core.errors import ConfigError
from accel.cv.models.blocks import BasicBlock, ConvBNAct, check_model_args


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for small images: input (N, in_channels, H, W), any H, W >= 1 (32 is the
    design size; 8×8 digits work); output logits (N, num_classes).

    Shortcuts that change shape are 1×1 conv-BN (option B), which pruning tools can follow.
    """

    def __init__(
        self, depth: int = 20, num_classes: int = 10, in_channels: int = 3, width: int = 16
    ) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ConfigError(
                f"cifar_resnet: depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}"
            )
        check_model_args("cifar_resnet", num_classes, in_channels)
        blocks = (depth - 2) // 6
        self.stem = ConvBNAct(in_channels, width)
        stages, channels = [], width
        for stage in range(3):
            out = width * 2**stage
            for index in range(blocks):
                stride = 2 if stage > 0 and index == 0 else 1
                stages.append(BasicBlock(channels, out, stride))
                channels = out
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def init_weights(model: nn.Module) -> None:
    """Kaiming-normal convs, unit BN, and zero-init of each block's last BN (faster start)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    for module in model.modules():
        if isinstance(module, BasicBlock):
            nn.init.zeros_(module.bn2.weight)


def resnet20(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> CifarResNet:
    """CIFAR ResNet-20 (0.27 M parameters at width 16)."""
    return CifarResNet(20, num_classes, in_channels, width)


def resnet56(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> CifarResNet:
    """CIFAR ResNet-56 (0.85 M parameters at width 16)."""
    return CifarResNet(56, num_classes, in_channels, width)
