"""Validate image tensors at a component's door, so a bad input fails with one clear line."""

from __future__ import annotations

import torch

from accel.cv.errors import InputError

RANGE_SLACK = 1e-4  # relative slack for rounding at the edges of a documented range


def check_images(
    x: torch.Tensor,
    who: str,
    *,
    channels: int | tuple[int, ...] | None = None,
    value_range: tuple[float, float] | None = None,
    min_size: int = 1,
) -> None:
    """Require a float tensor (N, C, H, W) with the given channel count and value range."""
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{who}: expected a tensor (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        raise InputError(f"{who}: expected shape (N, C, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InputError(f"{who}: expected a floating-point tensor, got {x.dtype}")
    allowed = (channels,) if isinstance(channels, int) else channels
    if allowed is not None and x.shape[1] not in allowed:
        want = " or ".join(str(c) for c in allowed)
        raise InputError(
            f"{who}: expected {want} channels (N, C, H, W), got shape {tuple(x.shape)}"
        )
    if min(x.shape[-2:]) < min_size:
        raise InputError(
            f"{who}: expected height and width >= {min_size}, got shape {tuple(x.shape)}"
        )
    if value_range is not None:
        check_range(x, who, value_range)


def check_range(x: torch.Tensor, who: str, value_range: tuple[float, float]) -> None:
    """Require every value of `x` inside `value_range` (with a tiny slack for rounding)."""
    low, high = value_range
    slack = RANGE_SLACK * (high - low)
    lo, hi = float(x.detach().min()), float(x.detach().max())
    if lo < low - slack or hi > high + slack:
        raise InputError(
            f"{who}: expected values in [{low:g}, {high:g}], got values in [{lo:.4g}, {hi:.4g}]"
        )


def check_same_shape(prediction: torch.Tensor, target: torch.Tensor, who: str) -> None:
    """Require prediction and target of one shape."""
    if prediction.shape != target.shape:
        raise InputError(
            f"{who}: prediction and target must have the same shape, got "
            f"{tuple(prediction.shape)} and {tuple(target.shape)}"
        )


def check_pair(
    prediction: torch.Tensor,
    target: torch.Tensor,
    who: str,
    *,
    channels: int | tuple[int, ...] | None = None,
    value_range: tuple[float, float] | None = None,
    min_size: int = 1,
) -> None:
    """Check a prediction/target image pair: same shape, (N, C, H, W), channels and range."""
    check_images(prediction, f"{who} prediction", channels=channels, min_size=min_size)
    check_same_shape(prediction, target, who)
    check_images(target, f"{who} target", channels=channels, value_range=value_range)
    if value_range is not None:
        check_range(prediction, f"{who} prediction", value_range)
