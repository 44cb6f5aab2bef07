"""Perceptual color differences: ΔE*ab (CIE76, distance in CIELAB) and ΔE00 (CIEDE2000)."""

from __future__ import annotations

import math

import torch
from torch import nn

from accel.cv.checks import check_pair
from accel.cv.color import rgb_to_lab
from accel.cv.errors import InputError
from accel.cv.losses.reduction import check_reduction, reduce

EPS = 1e-12
SPACES = ("rgb", "lab")


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrt that is exact, with gradient 0 instead of inf at 0 (the minimum of a color loss)."""
    return torch.where(x > EPS, torch.sqrt(x.clamp_min(EPS)), 0.0)


def delta_e76(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """ΔE*ab of Lab images (..., 3, H, W): the per-pixel Euclidean distance (..., H, W)."""
    return _safe_sqrt(((lab1 - lab2) ** 2).sum(dim=-3))


def _hue(b: torch.Tensor, a: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """Hue angle in [0, 2π), 0 where the chroma is 0 (atan2 guarded at the origin)."""
    colored = chroma > 0
    angle = torch.atan2(torch.where(colored, b, 0.0), torch.where(colored, a, 1.0))
    return torch.where(colored, torch.remainder(angle, 2 * math.pi), 0.0)


def delta_e2000(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """CIEDE2000 of Lab images (..., 3, H, W), per pixel (..., H, W) (Sharma et al. 2005)."""
    L1, a1, b1 = lab1.unbind(-3)
    L2, a2, b2 = lab2.unbind(-3)
    c_mean = (_safe_sqrt(a1**2 + b1**2) + _safe_sqrt(a2**2 + b2**2)) / 2
    g = 0.5 * (1 - _safe_sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = _safe_sqrt(a1p**2 + b1**2), _safe_sqrt(a2p**2 + b2**2)
    h1p, h2p = _hue(b1, a1p, c1p), _hue(b2, a2p, c2p)
    colored = (c1p * c2p) > 0

    dh = h2p - h1p
    dh = torch.where(
        dh > math.pi, dh - 2 * math.pi, torch.where(dh < -math.pi, dh + 2 * math.pi, dh)
    )
    dh = torch.where(colored, dh, 0.0)
    dL, dC = L2 - L1, c2p - c1p
    dH = 2 * _safe_sqrt(c1p * c2p) * torch.sin(dh / 2)

    L_mean, cp_mean = (L1 + L2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = torch.where(
        (h1p - h2p).abs() <= math.pi,
        h_sum / 2,
        torch.where(h_sum < 2 * math.pi, (h_sum + 2 * math.pi) / 2, (h_sum - 2 * math.pi) / 2),
    )
    h_mean = torch.where(colored, h_mean, h_sum)
    t = (
        1
        - 0.17 * torch.cos(h_mean - math.radians(30))
        + 0.24 * torch.cos(2 * h_mean)
        + 0.32 * torch.cos(3 * h_mean + math.radians(6))
        - 0.20 * torch.cos(4 * h_mean - math.radians(63))
    )
    d_theta = math.radians(30) * torch.exp(-(((torch.rad2deg(h_mean) - 275) / 25) ** 2))
    r_c = 2 * _safe_sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    s_l = 1 + 0.015 * (L_mean - 50) ** 2 / torch.sqrt(20 + (L_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -torch.sin(2 * d_theta) * r_c
    terms = (dL / s_l) ** 2 + (dC / s_c) ** 2 + (dH / s_h) ** 2 + r_t * (dC / s_c) * (dH / s_h)
    return _safe_sqrt(terms.clamp_min(0))


class _DeltaE(nn.Module):
    formula = staticmethod(delta_e76)
    label = "delta_e"

    def __init__(self, space: str = "rgb", reduction: str = "mean") -> None:
        super().__init__()
        if space not in SPACES:
            raise InputError(f"{self.label}: space {space!r} is not one of {', '.join(SPACES)}")
        self.space = space
        self.reduction = check_reduction(reduction, self.label)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        rgb = self.space == "rgb"
        check_pair(prediction, target, self.label, channels=3, value_range=(0, 1) if rgb else None)
        if rgb:
            prediction, target = rgb_to_lab(prediction), rgb_to_lab(target)
        return reduce(self.formula(prediction, target), self.reduction)


class DeltaE(_DeltaE):
    """Mean CIE76 color difference ΔE*ab between images (N, 3, H, W).

    `space="rgb"`: sRGB inputs in [0, 1], converted to Lab (D65); `space="lab"`: Lab inputs.
    One unit is about a just-noticeable difference.
    """


class DeltaE2000(_DeltaE):
    """Mean CIEDE2000 color difference between images (N, 3, H, W).

    `space="rgb"`: sRGB inputs in [0, 1], converted to Lab (D65); `space="lab"`: Lab inputs.
    """

    formula = staticmethod(delta_e2000)
    label = "delta_e2000"
