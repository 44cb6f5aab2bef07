"""Loss transforms: apply any loss over an image pyramid, or in another color space."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from accel.cv.checks import check_pair
from accel.cv.color import CONVERSIONS
from accel.cv.errors import InputError
from accel.cv.losses.resolve import LossSpec, resolve_loss


class MultiScale(nn.Module):
    """`sum_i weights[i] * loss(prediction_i, target_i)` over a pyramid of (N, C, H, W) images.

    Level 0 is the input; each next level halves H and W by 2×2 average pooling (which keeps
    a [0, 1] range). `loss` is a callable or a registered loss spec (`"ssim"`, `{name: ...}`).
    """

    def __init__(self, loss: LossSpec, weights: Sequence[float] = (1.0, 0.5, 0.25)) -> None:
        super().__init__()
        if not weights:
            raise InputError("multiscale: weights must hold at least one level, got none")
        self.loss = resolve_loss(loss)
        self.weights = list(weights)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        levels = len(self.weights)
        check_pair(prediction, target, "multiscale", min_size=2 ** (levels - 1))
        total = prediction.new_zeros(())
        for level, weight in enumerate(self.weights):
            if level:
                prediction = F.avg_pool2d(prediction, 2)
                target = F.avg_pool2d(target, 2)
            total = total + weight * self.loss(prediction, target)
        return total


class ColorSpaceLoss(nn.Module):
    """Apply `loss` after converting sRGB [0, 1] images (N, 3, H, W) to `space`.

    `space`: ycbcr, lab, hsv, gray or xyz (ranges in `accel.cv.color`); `channel_weights`
    scale the converted channels (e.g. weigh luma over chroma) before the loss.
    """

    def __init__(
        self, loss: LossSpec, space: str = "lab", channel_weights: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        spaces = sorted(dst for src, dst in CONVERSIONS if src == "rgb")
        if space not in spaces:
            raise InputError(f"color_space: space {space!r} is not one of {', '.join(spaces)}")
        self.convert = CONVERSIONS[("rgb", space)]
        self.loss = resolve_loss(loss)
        self.channel_weights = None if channel_weights is None else list(channel_weights)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(prediction, target, "color_space", channels=3, value_range=(0.0, 1.0))
        prediction, target = self.convert(prediction), self.convert(target)
        if self.channel_weights is not None:
            if len(self.channel_weights) != prediction.shape[1]:
                raise InputError(
                    f"color_space: {len(self.channel_weights)} channel weights for "
                    f"{prediction.shape[1]} channels"
                )
            w = torch.tensor(self.channel_weights, dtype=prediction.dtype, device=prediction.device)
            prediction, target = prediction * w.view(1, -1, 1, 1), target * w.view(1, -1, 1, 1)
        return self.loss(prediction, target)
