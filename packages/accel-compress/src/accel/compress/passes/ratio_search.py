"""Accuracy-budgeted pruning: bisect the ratio, fine-tune each candidate, keep the best found."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from accel.compress.analysis import count_macs, count_params
from accel.compress.passes.finetune import finetune
from accel.compress.passes.prune import Prune
from accel.compress.verify import accuracy, drop_points, within_drop
from accel.core.errors import ConfigError
from accel.core.passes import PassContext


@dataclass
class SearchResult:
    """The kept candidate (largest ratio within budget, else the most accurate) and all tried."""

    model: nn.Module
    ratio: float
    accuracy: float
    baseline: float
    met_budget: bool
    candidates: list[dict[str, Any]] = field(default_factory=list)


def search_ratio(
    model: nn.Module,
    context: PassContext,
    *,
    max_drop: float,
    low: float = 0.0,
    high: float = 0.9,
    steps: int = 4,
    epochs: int = 2,
    prune_options: dict[str, Any] | None = None,
) -> SearchResult:
    """Bisection on the pruning ratio in (low, high) over `steps` candidates.

    Each candidate is pruned from the original, fine-tuned for `epochs` when training data is
    given, and evaluated; a candidate within `max_drop` points moves the search up, else down.
    """
    if context.val_data is None:
        raise ConfigError("the pruning-ratio search needs evaluation data: pass --eval-data")
    baseline = accuracy(model, context.val_data)
    tried: list[dict[str, Any]] = []
    best: tuple[nn.Module, dict[str, Any]] | None = None
    for _ in range(steps):
        ratio = round((low + high) / 2, 4)
        candidate, row = try_ratio(model, context, ratio, epochs, prune_options or {})
        row["drop"] = drop_points(baseline, row["accuracy"])  # points, as max_drop
        row["meets_budget"] = within_drop(baseline, row["accuracy"], max_drop)
        tried.append(row)
        if better(row, best[1] if best else None):
            best = (candidate, row)
        low, high = (ratio, high) if row["meets_budget"] else (low, ratio)
    assert best is not None
    model_kept, row = best
    return SearchResult(
        model_kept, row["ratio"], row["accuracy"], baseline, row["meets_budget"], tried
    )


def try_ratio(
    model: nn.Module, context: PassContext, ratio: float, epochs: int, options: dict[str, Any]
) -> tuple[nn.Module, dict[str, Any]]:
    """Prune a copy of `model` by `ratio`, fine-tune it if there is data, measure it."""
    scratch = copy.copy(context)
    scratch.reports = []
    pruned = Prune(ratio, **options)(copy.deepcopy(model), scratch)
    if context.train_data is not None and epochs > 0:
        finetune(pruned, context.train_data, epochs=epochs)
    assert context.val_data is not None
    row = {
        "ratio": ratio,
        "accuracy": accuracy(pruned, context.val_data),
        "params": count_params(pruned),
        "macs": count_macs(pruned, context.example_inputs),
        "finetuned": context.train_data is not None and epochs > 0,
    }
    return pruned, row


def better(row: dict[str, Any], best: dict[str, Any] | None) -> bool:
    """Within budget beats over budget; then a larger ratio wins, else higher accuracy."""
    if best is None:
        return True
    if row["meets_budget"] != best["meets_budget"]:
        return bool(row["meets_budget"])
    if row["meets_budget"]:
        return bool(row["ratio"] > best["ratio"])
    return bool(row["accuracy"] > best["accuracy"])
