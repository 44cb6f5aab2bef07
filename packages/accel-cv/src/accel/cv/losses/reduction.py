"""The `reduction` argument shared by the per-element losses."""

from __future__ import annotations

import torch

from accel.core.errors import ConfigError

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str, who: str) -> str:
    """Return `reduction` if valid, else a ConfigError naming the valid ones."""
    if reduction not in REDUCTIONS:
        raise ConfigError(f"{who}: reduction {reduction!r} is not one of {', '.join(REDUCTIONS)}")
    return reduction


def reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply a checked reduction."""
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values
