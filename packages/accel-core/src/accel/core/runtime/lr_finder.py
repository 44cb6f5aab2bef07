"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates", §3.3): train a copy of
the model for a few steps while the learning rate grows exponentially, record the smoothed
loss, and suggest the rate where the loss falls fastest. The given model is left untouched."""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from accel.core.data import split_batch
from accel.core.errors import ConfigError
from accel.core.runtime.components import resolve_loss, resolve_optimizer

SKIP_START, SKIP_END = 0.1, 0.05  # the ends of the curve are noise: ignored for the suggestion


@dataclass(frozen=True)
class LRRange:
    """The rates tried, the smoothed loss at each, and the suggested rate (None: no fall)."""

    lrs: list[float]
    losses: list[float]
    suggestion: float | None
    stopped_early: bool


def find_lr(
    model: nn.Module,
    loader: Any,
    *,
    optimizer: Any,
    loss: Any,
    min_lr: float = 1e-6,
    max_lr: float = 1.0,
    steps: int = 100,
    smoothing: float = 0.05,
    diverge: float = 4.0,
    device: str | torch.device = "cpu",
) -> LRRange:
    """Range-test `optimizer` (a registry spec: it is built on a copy of `model`) with `loss`
    from `min_lr` to `max_lr` over `steps` steps (cycling `loader`); stop when the smoothed
    loss exceeds `diverge` times its best."""
    check_range(min_lr, max_lr, steps, smoothing, diverge)
    trial = copy.deepcopy(model).to(device).train()
    built = resolve_optimizer(optimizer, trial)
    loss_fn = resolve_loss(loss)
    lrs, losses, average, best = [], [], 0.0, math.inf
    batches = itertools.cycle(loader)
    for step in range(steps):
        lr = min_lr * (max_lr / min_lr) ** (step / max(steps - 1, 1))
        for group in built.param_groups:
            group["lr"] = lr
        inputs, target = split_batch(next(batches))
        value = loss_fn(trial(inputs.to(device)), target.to(device))
        built.zero_grad(set_to_none=True)
        value.backward()
        built.step()
        average = (1 - smoothing) * average + smoothing * float(value.detach())
        smoothed = average / (1 - (1 - smoothing) ** (step + 1))  # bias-corrected
        lrs.append(lr)
        losses.append(smoothed)
        if not math.isfinite(smoothed) or smoothed > diverge * best:
            return LRRange(lrs, losses, suggest(lrs, losses), True)
        best = min(best, smoothed)
    return LRRange(lrs, losses, suggest(lrs, losses), False)


def suggest(lrs: list[float], losses: list[float]) -> float | None:
    """The rate of the steepest fall of the loss against log(lr), before its minimum."""
    finite = [i for i, v in enumerate(losses) if math.isfinite(v)]
    if len(finite) < 5:
        return None
    lowest = min(finite, key=lambda i: losses[i])
    start = int(len(lrs) * SKIP_START)
    end = min(lowest, len(lrs) - 1 - int(len(lrs) * SKIP_END))
    slopes = [
        ((losses[i + 1] - losses[i - 1]) / math.log(lrs[i + 1] / lrs[i - 1]), i)
        for i in range(max(start, 1), end)
    ]
    if not slopes:
        return None
    slope, index = min(slopes)
    return lrs[index] if slope < 0 else None


def check_range(min_lr: float, max_lr: float, steps: int, smoothing: float, diverge: float) -> None:
    if not (0 < min_lr < max_lr) or not all(map(math.isfinite, (min_lr, max_lr))):
        raise ConfigError(f"lr range: need 0 < min_lr < max_lr, got {min_lr} and {max_lr}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 10:
        raise ConfigError(f"lr range: steps must be an int >= 10, got {steps!r}")
    if not 0 < smoothing <= 1:
        raise ConfigError(f"lr range: smoothing must be in (0, 1], got {smoothing}")
    if not diverge > 1:
        raise ConfigError(f"lr range: diverge must be > 1, got {diverge}")
