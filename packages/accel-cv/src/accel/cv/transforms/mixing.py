"""Mixup and CutMix: blend pairs of samples and their targets by the same proportion.

Class targets come out as probabilities (N, K) that sum to 1, for a loss that accepts them
(cross-entropy with probabilities, `accel.cv` focal loss).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from accel.cv.errors import InputError
from accel.cv.transforms.base import BatchTransform, is_dense


def soft_targets(target: torch.Tensor, num_classes: int | None, who: str) -> torch.Tensor:
    """Class indices (N,) -> one-hot (N, K) floats; probabilities (N, K) pass through."""
    if target.dim() == 2 and target.is_floating_point():
        return target
    if target.dim() != 1 or target.is_floating_point():
        raise InputError(
            f"{who}: expected class indices (N,) or probabilities (N, K), got "
            f"{target.dtype} {tuple(target.shape)}"
        )
    if num_classes is None:
        raise InputError(f"{who}: class indices need num_classes to become probabilities")
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= num_classes):
        raise InputError(
            f"{who}: expected class indices in [0, {num_classes - 1}], got values in "
            f"[{int(target.min())}, {int(target.max())}]"
        )
    return F.one_hot(target.long(), num_classes).float()


class _Mixing(BatchTransform):
    def __init__(self, alpha: float, num_classes: int | None, p: float, seed: int | None) -> None:
        if alpha <= 0:
            raise InputError(f"{self.name}: alpha must be > 0, got {alpha}")
        if not 0 <= p <= 1:
            raise InputError(f"{self.name}: p must be in [0, 1], got {p}")
        self.alpha, self.num_classes, self.p = alpha, num_classes, p
        super().__init__(seed)

    def _draw(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Partner permutation and per-sample kept proportion (1 where not mixed)."""
        partner = self.rng.permutation(n)
        keep = self.rng.beta(self.alpha, self.alpha, size=n)
        keep = np.where(self.rng.random(n) < self.p, keep, 1.0)
        return partner, keep


class Mixup(_Mixing):
    """Mixup (Zhang et al. 2018): `lam * x + (1 - lam) * x[partner]`, lam ~ Beta(alpha, alpha).

    Images (N, C, H, W) of any range; the target is required and becomes probabilities (N, K).
    Each sample is mixed with probability `p`.
    """

    name = "mixup"

    def __init__(
        self,
        alpha: float = 0.2,
        num_classes: int | None = None,
        p: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(alpha, num_classes, p, seed)

    def apply(
        self, images: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if target is None:
            raise InputError(f"{self.name}: needs (images, target) to mix the targets too")
        probs = soft_targets(target, self.num_classes, self.name).to(images.device)
        partner, keep = self._draw(images.shape[0])
        index = torch.as_tensor(partner, device=images.device)
        lam = self.tensor(keep, images)
        mixed = lam.view(-1, 1, 1, 1) * images + (1 - lam.view(-1, 1, 1, 1)) * images[index]
        lam_t = lam.to(probs.dtype).view(-1, 1)
        return mixed, lam_t * probs + (1 - lam_t) * probs[index]


class CutMix(_Mixing):
    """CutMix (Yun et al. 2019): paste a random box of a partner sample into each sample.

    Images (N, C, H, W) of any range. Class targets become probabilities (N, K) mixed by the
    pasted area; dense targets (N, H, W) / (N, C', H, W) get the same box pasted.
    """

    name = "cutmix"

    def __init__(
        self,
        alpha: float = 1.0,
        num_classes: int | None = None,
        p: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(alpha, num_classes, p, seed)

    def _boxes(self, keep: np.ndarray, height: int, width: int) -> np.ndarray:
        """Boxes (N, 4) as (y0, y1, x0, x1) covering about 1 - keep of each image."""
        cut = np.sqrt(1 - keep)
        h, w = np.round(height * cut).astype(int), np.round(width * cut).astype(int)
        cy = self.rng.integers(0, height, size=keep.shape[0])
        cx = self.rng.integers(0, width, size=keep.shape[0])
        y0, y1 = np.clip(cy - h // 2, 0, height), np.clip(cy - h // 2 + h, 0, height)
        x0, x1 = np.clip(cx - w // 2, 0, width), np.clip(cx - w // 2 + w, 0, width)
        return np.stack((y0, y1, x0, x1), axis=1)

    def apply(
        self, images: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if target is None:
            raise InputError(f"{self.name}: needs (images, target) to mix the targets too")
        n, _, height, width = images.shape
        partner, keep = self._draw(n)
        y0, y1, x0, x1 = (
            torch.as_tensor(v, device=images.device).view(-1, 1, 1)
            for v in self._boxes(keep, height, width).T
        )
        rows = torch.arange(height, device=images.device).view(1, -1, 1)
        cols = torch.arange(width, device=images.device).view(1, 1, -1)
        box = (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)  # (N, H, W)
        index = torch.as_tensor(partner, device=images.device)
        mixed = torch.where(box.unsqueeze(1), images[index], images)
        if is_dense(target):
            mask = box if target.dim() == 3 else box.unsqueeze(1)
            return mixed, torch.where(mask, target[index], target)
        probs = soft_targets(target, self.num_classes, self.name).to(images.device)
        lam = 1 - box.flatten(1).float().mean(dim=1).to(probs.dtype).view(-1, 1)
        return mixed, lam * probs + (1 - lam) * probs[index]
