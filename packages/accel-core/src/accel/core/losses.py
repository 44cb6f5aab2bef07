"""Cross-domain losses, registered in `accel.losses`: MAE, MSE, Huber, Charbonnier, cross-entropy.

Each is an `nn.Module` mapping `(prediction, target)` of the same shape (class logits `(N, C, ...)`
and integer targets `(N, ...)` for cross-entropy) to a scalar tensor with the default
`reduction="mean"`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from accel.core.errors import ConfigError

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, loss: str) -> str:
    if reduction not in REDUCTIONS:
        raise ConfigError(
            f"loss '{loss}': reduction={reduction!r} is not valid; "
            f"use one of {', '.join(REDUCTIONS)}"
        )
    return reduction


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


class MAE(nn.Module):
    """Mean absolute error (L1)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction(reduction, "mae")

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(prediction, target, reduction=self.reduction)


class MSE(nn.Module):
    """Mean squared error (L2)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction(reduction, "mse")

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(prediction, target, reduction=self.reduction)


class Huber(nn.Module):
    """Huber loss: quadratic below `delta`, linear above (robust to outliers)."""

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        if not delta > 0:
            raise ConfigError(f"loss 'huber': delta must be > 0, got {delta!r}")
        self.delta = float(delta)
        self.reduction = _check_reduction(reduction, "huber")

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(prediction, target, reduction=self.reduction, delta=self.delta)


class Charbonnier(nn.Module):
    """Charbonnier loss `sqrt((p - t)^2 + eps^2)`: a smooth L1 used in image restoration."""

    def __init__(self, eps: float = 1e-3, reduction: str = "mean") -> None:
        super().__init__()
        if not eps > 0:
            raise ConfigError(f"loss 'charbonnier': eps must be > 0, got {eps!r}")
        self.eps = float(eps)
        self.reduction = _check_reduction(reduction, "charbonnier")

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        values = torch.sqrt((prediction - target).square() + self.eps**2)
        return _reduce(values, self.reduction)


class CrossEntropy(nn.Module):
    """Cross-entropy on logits `(N, C, ...)` with integer targets, optional label smoothing."""

    def __init__(
        self,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(
                f"loss 'cross_entropy': label_smoothing must be in [0, 1), got {label_smoothing!r}"
            )
        self.label_smoothing = float(label_smoothing)
        self.ignore_index = int(ignore_index)
        self.reduction = _check_reduction(reduction, "cross_entropy")

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            prediction,
            target,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )
