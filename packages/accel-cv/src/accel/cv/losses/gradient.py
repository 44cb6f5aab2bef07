"""Edge-aware losses: a Sobel gradient loss between images and total variation of one image."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from accel.cv.checks import check_images, check_pair
from accel.cv.errors import InputError
from accel.cv.losses.reduction import check_reduction, reduce

SOBEL = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))


def sobel_gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal and vertical Sobel responses of (N, C, H, W), same shape (replicate padding)."""
    channels = x.shape[1]
    kx = torch.tensor(SOBEL, dtype=x.dtype, device=x.device) / 8
    kernels = torch.stack((kx, kx.t())).unsqueeze(1).repeat(channels, 1, 1, 1)
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    both = F.conv2d(padded, kernels, groups=channels)
    return both[:, 0::2], both[:, 1::2]


class GradientLoss(nn.Module):
    """Distance between the Sobel gradients of prediction and target, images (N, C, H, W).

    Any value range (gradients are linear in the input); `criterion` is "l1" or "mse".
    Penalises blurred or shifted edges that a pixel loss forgives.
    """

    def __init__(self, criterion: str = "l1", reduction: str = "mean") -> None:
        super().__init__()
        if criterion not in ("l1", "mse"):
            raise InputError(f"gradient loss: criterion {criterion!r} is not one of l1, mse")
        self.criterion = criterion
        self.reduction = check_reduction(reduction, "gradient loss")

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(prediction, target, "gradient loss", min_size=2)
        px, py = sobel_gradients(prediction)
        tx, ty = sobel_gradients(target)
        diff = torch.cat((px - tx, py - ty), dim=1)
        values = diff.abs() if self.criterion == "l1" else diff**2
        return reduce(values, self.reduction)


def total_variation(x: torch.Tensor, power: int = 1) -> torch.Tensor:
    """Mean |difference|**power between neighbouring pixels of (N, C, H, W), per image (N,)."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs() ** power
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs() ** power
    return dh.mean(dim=(1, 2, 3)) + dw.mean(dim=(1, 2, 3))


class TotalVariation(nn.Module):
    """Total-variation regulariser of the prediction (N, C, H, W), any range; target is ignored.

    `power` 1 is anisotropic TV (keeps edges), 2 the squared form (smoother).
    """

    def __init__(self, power: int = 1, reduction: str = "mean") -> None:
        super().__init__()
        if power not in (1, 2):
            raise InputError(f"total variation: power must be 1 or 2, got {power}")
        self.power = power
        self.reduction = check_reduction(reduction, "total variation")

    def forward(self, prediction: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        check_images(prediction, "total variation prediction", min_size=2)
        return reduce(total_variation(prediction, self.power), self.reduction)
