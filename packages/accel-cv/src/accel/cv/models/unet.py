"""A small UNet (Ronneberger et al. 2015) for image-to-image work and segmentation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from accel.core.errors import ConfigError
from accel.cv.models.blocks import ConvBNAct


class DoubleConv(nn.Sequential):
    """Two 3×3 conv-BN-ReLU layers, each with its own ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            ConvBNAct(in_channels, out_channels), ConvBNAct(out_channels, out_channels)
        )


class UNet(nn.Module):
    """Encoder-decoder with skips: (N, in_channels, H, W) -> (N, out_channels, H, W).

    Any H, W >= 2**depth (odd sizes are padded back to the skip's size). Outputs are raw
    (logits for segmentation; add a sigmoid yourself for images in [0, 1]).
    """

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, base: int = 16, depth: int = 3
    ) -> None:
        super().__init__()
        if depth < 1 or base < 1 or in_channels < 1 or out_channels < 1:
            raise ConfigError(
                "unet: in_channels, out_channels, base and depth must be >= 1, got "
                f"{in_channels}, {out_channels}, {base}, {depth}"
            )
        self.depth = depth
        widths = [base * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList([DoubleConv(in_channels, widths[0])])
        self.down.extend(DoubleConv(widths[i], widths[i + 1]) for i in range(depth))
        self.pools = nn.ModuleList(nn.MaxPool2d(2) for _ in range(depth))
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
            for i in reversed(range(depth))
        )
        self.up = nn.ModuleList(
            DoubleConv(2 * widths[i], widths[i]) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.fx.Proxy) and min(x.shape[-2:]) < 2**self.depth:
            raise ConfigError(
                f"unet: input height and width must be >= {2**self.depth}, got {tuple(x.shape)}"
            )
        skips = [self.down[0](x)]
        for pool, block in zip(self.pools, list(self.down)[1:], strict=True):
            skips.append(block(pool(skips[-1])))
        out = skips.pop()
        for upsample, block in zip(self.ups, self.up, strict=True):
            skip = skips.pop()
            out = upsample(out)
            dh, dw = skip.shape[-2] - out.shape[-2], skip.shape[-1] - out.shape[-1]
            out = F.pad(out, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
            out = block(torch.cat((skip, out), dim=1))
        return self.head(out)


def unet(in_channels: int = 3, out_channels: int = 3, base: int = 16, depth: int = 3) -> UNet:
    """A small UNet (see `UNet`)."""
    return UNet(in_channels, out_channels, base, depth)
