"""Losses for imbalanced classification and segmentation: focal loss and Dice loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from accel.cv.errors import InputError
from accel.cv.losses.reduction import check_reduction, reduce


def class_probabilities(logits: torch.Tensor, target: torch.Tensor, who: str) -> torch.Tensor:
    """Target as per-class probabilities shaped like `logits` (N, K, ...).

    Accepts class indices (N, ...) in [0, K) or probabilities (N, K, ...) (e.g. from Mixup).
    """
    if logits.dim() < 2:
        raise InputError(f"{who}: expected logits (N, K, ...), got shape {tuple(logits.shape)}")
    classes = logits.shape[1]
    if target.shape == logits.shape and target.is_floating_point():
        return target
    index_shape = logits.shape[:1] + logits.shape[2:]
    if target.dtype not in (torch.int64, torch.int32, torch.uint8) or target.shape != index_shape:
        raise InputError(
            f"{who}: expected target class indices of shape {tuple(index_shape)} or "
            f"probabilities of shape {tuple(logits.shape)}, got {target.dtype} "
            f"{tuple(target.shape)}"
        )
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= classes):
        raise InputError(
            f"{who}: expected class indices in [0, {classes - 1}], got values in "
            f"[{int(target.min())}, {int(target.max())}]"
        )
    return F.one_hot(target.long(), classes).movedim(-1, 1).to(logits.dtype)


class FocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017) over logits (N, K) or (N, K, H, W).

    Target: class indices (N,) / (N, H, W), or class probabilities shaped like the logits.
    `gamma` down-weights easy examples (0 gives cross-entropy); `alpha` is an optional weight
    per class (K values).
    """

    def __init__(
        self, gamma: float = 2.0, alpha: Sequence[float] | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__()
        if gamma < 0:
            raise InputError(f"focal loss: gamma must be >= 0, got {gamma}")
        self.gamma = gamma
        self.alpha = None if alpha is None else torch.tensor(list(alpha), dtype=torch.float64)
        self.reduction = check_reduction(reduction, "focal loss")

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        probs = class_probabilities(prediction, target, "focal loss")
        log_p = F.log_softmax(prediction, dim=1)
        weights = (1 - log_p.exp()) ** self.gamma
        if self.alpha is not None:
            if self.alpha.numel() != prediction.shape[1]:
                raise InputError(
                    f"focal loss: alpha has {self.alpha.numel()} values, logits have "
                    f"{prediction.shape[1]} classes"
                )
            shape = (1, -1) + (1,) * (prediction.dim() - 2)
            weights = weights * self.alpha.to(prediction).view(shape)
        return reduce(-(probs * weights * log_p).sum(dim=1), self.reduction)


class DiceLoss(nn.Module):
    """Soft Dice loss `1 - mean over classes of 2|P∩T| / (|P| + |T|)` for segmentation.

    Prediction: logits (N, K, H, W) (softmax over K; with K = 1 a sigmoid, binary), or
    probabilities in [0, 1] with `from_logits=False`. Target: class indices (N, H, W) in
    [0, K), or probabilities shaped like the prediction (a mask (N, 1, H, W) when K = 1).
    """

    def __init__(self, smooth: float = 1.0, from_logits: bool = True) -> None:
        super().__init__()
        if smooth < 0:
            raise InputError(f"dice loss: smooth must be >= 0, got {smooth}")
        self.smooth = smooth
        self.from_logits = from_logits

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if prediction.dim() < 3:
            raise InputError(
                f"dice loss: expected prediction (N, K, H, W), got shape {tuple(prediction.shape)}"
            )
        binary = prediction.shape[1] == 1
        if self.from_logits:
            probs = torch.sigmoid(prediction) if binary else F.softmax(prediction, dim=1)
        else:
            probs = prediction
        if binary and target.shape == prediction.shape:
            truth = target.to(prediction.dtype)
        else:
            truth = class_probabilities(prediction, target, "dice loss")
        dims = (0, *range(2, prediction.dim()))
        overlap = (probs * truth).sum(dims)
        total = probs.sum(dims) + truth.sum(dims)
        return 1 - ((2 * overlap + self.smooth) / (total + self.smooth)).mean()
