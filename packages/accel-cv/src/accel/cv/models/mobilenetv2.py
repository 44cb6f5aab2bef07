"""A small MobileNetV2 (Sandler et al. 2018): inverted residuals with linear bottlenecks."""

from __future__ import annotations

import torch
from torch import nn

from accel.core.errors import ConfigError
from accel.cv.models.blocks import ConvBNAct, check_model_args

# (expansion, output channels, repeats, first stride): a shortened schedule for small images
SMALL_SETTING = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 2, 2), (6, 64, 2, 2), (6, 96, 1, 1))


def _round(channels: float, divisor: int = 8) -> int:
    return max(divisor, int(channels + divisor / 2) // divisor * divisor)


class InvertedResidual(nn.Module):
    """1×1 expand (ReLU6), 3×3 depthwise (ReLU6), 1×1 linear projection; residual if same shape."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(ConvBNAct(in_channels, hidden, 1, activation="relu6"))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride, groups=hidden, activation="relu6"),
            ConvBNAct(hidden, out_channels, 1, activation=None),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out


class MobileNetV2(nn.Module):
    """Input (N, in_channels, H, W) (32² or less is the design size) -> logits (N, num_classes).

    `width_mult` scales every layer's channels.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        width_mult: float = 1.0,
        last_channels: int = 256,
    ) -> None:
        super().__init__()
        check_model_args("mobilenetv2", num_classes, in_channels)
        if isinstance(width_mult, bool) or not isinstance(width_mult, int | float):
            raise ConfigError(f"mobilenetv2: width_mult must be a number > 0, got {width_mult!r}")
        if not 0 < width_mult <= 16 or not isinstance(last_channels, int) or last_channels < 1:
            raise ConfigError(
                f"mobilenetv2: width_mult must be in (0, 16] and last_channels an int >= 1, "
                f"got {width_mult!r} and {last_channels!r}"
            )
        channels = _round(32 * width_mult)
        layers: list[nn.Module] = [ConvBNAct(in_channels, channels, 3, 1, activation="relu6")]
        for expansion, out, repeats, stride in SMALL_SETTING:
            out = _round(out * width_mult)
            for index in range(repeats):
                layers.append(
                    InvertedResidual(channels, out, stride if index == 0 else 1, expansion)
                )
                channels = out
        last = _round(last_channels * max(1.0, width_mult))
        layers.append(ConvBNAct(channels, last, 1, activation="relu6"))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def mobilenetv2(
    num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0, last_channels: int = 256
) -> MobileNetV2:
    """Small MobileNetV2 for 32²-class inputs."""
    return MobileNetV2(num_classes, in_channels, width_mult, last_channels)
