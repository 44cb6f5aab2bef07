"""RepVGG-style network (Ding et al. 2021): 3×3, 1×1 and identity branches while training,
merged into one 3×3 convolution per block for deployment (`reparametrize()`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from accel.core.errors import ConfigError
from accel.cv.models.blocks import check_model_args


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    )


def _conv_and_bn(branch: nn.Sequential) -> tuple[torch.Tensor, nn.BatchNorm2d]:
    conv, bn = branch[0], branch[1]
    assert isinstance(conv, nn.Conv2d)
    assert isinstance(bn, nn.BatchNorm2d)
    return conv.weight, bn


def fold_bn(kernel: torch.Tensor, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel and bias of `conv(kernel)` followed by `bn` in eval mode, as one conv."""
    assert bn.running_var is not None
    assert bn.running_mean is not None
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return kernel * scale.view(-1, 1, 1, 1), bn.bias - bn.running_mean * scale


class RepVGGBlock(nn.Module):
    """Training: ReLU(BN(conv3×3 x) + BN(conv1×1 x) + BN(x)); deployed: ReLU(conv3×3 x + b).

    The identity branch exists when stride is 1 and channels do not change. Input
    (N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride).
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, deploy: bool = False
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.relu = nn.ReLU(inplace=True)
        self.fused: nn.Conv2d | None = None
        if deploy:
            self.fused = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=True)
            return
        self.dense = _conv_bn(in_channels, out_channels, 3, stride)
        self.pointwise = _conv_bn(in_channels, out_channels, 1, stride)
        has_identity = stride == 1 and in_channels == out_channels
        self.identity = nn.BatchNorm2d(out_channels) if has_identity else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused is not None:
            return self.relu(self.fused(x))
        out = self.dense(x) + self.pointwise(x)
        if self.identity is not None:
            out = out + self.identity(x)
        return self.relu(out)

    def merged_kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The single 3×3 kernel and bias equal to the three branches (BN in eval mode)."""
        kernel, bias = fold_bn(*_conv_and_bn(self.dense))
        k1, b1 = fold_bn(*_conv_and_bn(self.pointwise))
        kernel, bias = kernel + F.pad(k1, (1, 1, 1, 1)), bias + b1
        if self.identity is not None:
            eye = torch.zeros_like(kernel)
            eye[torch.arange(self.out_channels), torch.arange(self.in_channels), 1, 1] = 1
            ki, bi = fold_bn(eye, self.identity)
            kernel, bias = kernel + ki, bias + bi
        return kernel, bias

    @torch.no_grad()
    def reparametrize(self) -> None:
        """Replace the branches by one 3×3 conv with bias (outputs unchanged in eval mode)."""
        if self.fused is not None:
            return
        kernel, bias = self.merged_kernel()
        fused = nn.Conv2d(self.in_channels, self.out_channels, 3, self.stride, 1, bias=True)
        fused.weight.copy_(kernel)
        assert fused.bias is not None
        fused.bias.copy_(bias)
        self.fused = fused.to(kernel.device)
        del self.dense, self.pointwise, self.identity
        self.identity = None


class RepVGG(nn.Module):
    """Stages of RepVGG blocks; input (N, in_channels, H, W) -> logits (N, num_classes).

    Defaults suit 32² or smaller images. `deploy=True` builds the merged form (to load a
    state dict saved after `reparametrize()`).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64, 128),
        depths: Sequence[int] = (1, 2, 2, 1),
        strides: Sequence[int] = (1, 2, 2, 2),
        deploy: bool = False,
    ) -> None:
        super().__init__()
        check_model_args("repvgg", num_classes, in_channels)
        if not len(widths) == len(depths) == len(strides) or not widths:
            raise ConfigError(
                f"repvgg: widths, depths and strides need one value per stage, got "
                f"{list(widths)}, {list(depths)}, {list(strides)}"
            )
        blocks, channels = [], in_channels
        for width, depth, stride in zip(widths, depths, strides, strict=True):
            for index in range(depth):
                blocks.append(RepVGGBlock(channels, width, stride if index == 0 else 1, deploy))
                channels = width
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))

    def reparametrize(self) -> RepVGG:
        """Merge every block for deployment (in place) and return the model."""
        for module in self.modules():
            if isinstance(module, RepVGGBlock):
                module.reparametrize()
        return self

    switch_to_deploy = reparametrize


def repvgg(
    num_classes: int = 10,
    in_channels: int = 3,
    widths: Sequence[int] = (16, 32, 64, 128),
    depths: Sequence[int] = (1, 2, 2, 1),
    strides: Sequence[int] = (1, 2, 2, 2),
    deploy: bool = False,
) -> RepVGG:
    """A small RepVGG-style classifier (see `RepVGG`)."""
    return RepVGG(num_classes, in_channels, widths, depths, strides, deploy)
