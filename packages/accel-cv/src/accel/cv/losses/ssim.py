"""SSIM and MS-SSIM (Wang et al. 2003/2004) as functions and as losses (1 - index).

The definition is the standard one that scikit-image (`gaussian_weights=True, sigma=1.5,
use_sample_covariance=False`) and pytorch-msssim use: an 11-tap Gaussian window (σ = 1.5)
applied without padding, K1 = 0.01, K2 = 0.03, and the mean over pixels and channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from accel.cv.checks import check_pair
from accel.cv.errors import InputError

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def gaussian_window(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """A normalized 1-D Gaussian of `size` taps (odd) on the dtype and device of `like`."""
    if size % 2 == 0 or size < 1:
        raise InputError(f"SSIM window size must be a positive odd number, got {size}")
    coords = torch.arange(size, dtype=like.dtype, device=like.device) - size // 2
    window = torch.exp(-(coords**2) / (2 * sigma**2))
    return window / window.sum()


def _blur(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter per channel, 'valid' (no padding) like the standard SSIM."""
    channels = x.shape[1]
    horizontal = window.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    vertical = window.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    return F.conv2d(F.conv2d(x, horizontal, groups=channels), vertical, groups=channels)


def ssim_components(
    x: torch.Tensor, y: torch.Tensor, window: torch.Tensor, data_range: float, k1: float, k2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel SSIM and contrast-structure (cs) means, each of shape (N, C)."""
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y = _blur(x, window), _blur(y, window)
    var_x = _blur(x * x, window) - mu_x**2
    var_y = _blur(y * y, window) - mu_y**2
    cov = _blur(x * y, window) - mu_x * mu_y
    cs_map = (2 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs_map
    return ssim_map.mean(dim=(-2, -1)), cs_map.mean(dim=(-2, -1))


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    check_range: bool = True,
) -> torch.Tensor:
    """Mean SSIM of image batches (N, C, H, W) with values in [0, data_range]; H, W >= window."""
    check_pair(
        x,
        y,
        "ssim",
        value_range=(0.0, data_range) if check_range else None,
        min_size=window_size,
    )
    window = gaussian_window(window_size, sigma, x)
    per_channel, _ = ssim_components(x, y, window, data_range, k1, k2)
    return per_channel.mean()


def ms_ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    data_range: float = 1.0,
    weights: Sequence[float] = MS_SSIM_WEIGHTS,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    check_range: bool = True,
) -> torch.Tensor:
    """Mean multi-scale SSIM of (N, C, H, W) batches in [0, data_range].

    One scale per weight (halving by 2×2 average pooling); the smallest scale must still
    hold the window, so H and W must be > (window_size - 1) * 2 ** (len(weights) - 1).
    With one weight this is SSIM (for non-negative SSIM).
    """
    levels = len(weights)
    if levels < 1:
        raise InputError("ms_ssim: weights must hold at least one scale, got none")
    smallest = (window_size - 1) * 2 ** (levels - 1) + 1
    check_pair(
        x, y, "ms_ssim", value_range=(0.0, data_range) if check_range else None, min_size=smallest
    )
    window = gaussian_window(window_size, sigma, x)
    factors = []
    for level in range(levels):
        per_channel, cs = ssim_components(x, y, window, data_range, k1, k2)
        if level < levels - 1:
            factors.append(torch.relu(cs))
            padding = [s % 2 for s in x.shape[-2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=padding)
            y = F.avg_pool2d(y, kernel_size=2, padding=padding)
    factors.append(torch.relu(per_channel))
    w = torch.tensor(list(weights), dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return torch.prod(torch.stack(factors) ** w, dim=0).mean()


class SSIM(nn.Module):
    """Loss `1 - SSIM(prediction, target)` for images (N, C, H, W) in [0, data_range].

    H and W must be at least `window_size`. Set `check_range=False` to skip the range check
    (e.g. for unbounded network outputs, at your own risk: SSIM assumes the range).
    """

    def __init__(
        self,
        data_range: float = 1.0,
        window_size: int = 11,
        sigma: float = 1.5,
        k1: float = 0.01,
        k2: float = 0.03,
        check_range: bool = True,
    ) -> None:
        super().__init__()
        self.options = dict(
            data_range=data_range,
            window_size=window_size,
            sigma=sigma,
            k1=k1,
            k2=k2,
            check_range=check_range,
        )

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 1 - ssim(prediction, target, **self.options)  # type: ignore[arg-type]


class MSSSIM(nn.Module):
    """Loss `1 - MS-SSIM(prediction, target)` for images (N, C, H, W) in [0, data_range].

    With the 5 default scales H and W must exceed 160 (see `ms_ssim`).
    """

    def __init__(
        self,
        data_range: float = 1.0,
        weights: Sequence[float] = MS_SSIM_WEIGHTS,
        window_size: int = 11,
        sigma: float = 1.5,
        k1: float = 0.01,
        k2: float = 0.03,
        check_range: bool = True,
    ) -> None:
        super().__init__()
        self.options = dict(
            data_range=data_range,
            weights=tuple(weights),
            window_size=window_size,
            sigma=sigma,
            k1=k1,
            k2=k2,
            check_range=check_range,
        )

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 1 - ms_ssim(prediction, target, **self.options)  # type: ignore[arg-type]
