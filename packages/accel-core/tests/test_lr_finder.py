"""The LR range test: exponential rates, a suggestion before the loss blows up, an early stop
on divergence, the caller's model untouched, and bad ranges refused in one line."""

from __future__ import annotations

import math

import pytest
import torch
from core_tiny import TinyData, TinyNet

from accel.core.errors import ConfigError
from accel.core.runtime.lr_finder import find_lr, suggest


def test_the_range_test_suggests_a_rate_below_divergence_and_leaves_the_model() -> None:
    torch.manual_seed(0)
    model = TinyNet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    found = find_lr(
        model, TinyData().train_dataloader(), optimizer={"name": "sgd", "lr": 1.0},
        loss="cross_entropy", min_lr=1e-4, max_lr=100.0, steps=60,
    )  # fmt: skip
    ratios = [b / a for a, b in zip(found.lrs, found.lrs[1:], strict=False)]
    assert found.lrs[0] == pytest.approx(1e-4)
    assert max(ratios) == pytest.approx(min(ratios))  # exponential
    assert found.stopped_early  # lr 100 on SGD diverges
    assert found.suggestion is not None
    assert 1e-3 < found.suggestion < found.lrs[-1]
    lowest = min(range(len(found.losses)), key=lambda i: found.losses[i])
    assert found.suggestion <= found.lrs[lowest]
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_suggest_picks_the_steepest_fall_and_none_without_one() -> None:
    lrs = [10 ** (i / 10 - 5) for i in range(50)]
    falling = [2.0 - math.tanh((i - 25) / 4) for i in range(50)]
    assert suggest(lrs, falling) == pytest.approx(lrs[25], rel=0.3)
    assert suggest(lrs, [1.0 + i for i in range(50)]) is None


def test_bad_ranges_are_one_line() -> None:
    loader = TinyData().train_dataloader()
    for options, message in [
        ({"min_lr": 1.0, "max_lr": 0.1}, "need 0 < min_lr < max_lr"),
        ({"steps": 3}, "steps must be an int >= 10"),
        ({"smoothing": 0.0}, r"smoothing must be in \(0, 1\]"),
    ]:
        with pytest.raises(ConfigError, match=message):
            find_lr(TinyNet(), loader, optimizer="sgd", loss="cross_entropy", **options)
