"""`prune_search`: the largest pruning ratio whose fine-tuned accuracy stays within `max_drop`."""

from __future__ import annotations

from typing import Any

from torch import nn

from accel.compress.passes.ratio_search import search_ratio
from accel.compress.verify import percent
from accel.core.errors import ConfigError
from accel.core.passes import PassContext


class PruneSearch:
    """Bisect the pruning ratio (`steps` candidates in `low`..`high`), keep the best model."""

    def __init__(
        self,
        max_drop: float,
        *,
        steps: int = 4,
        low: float = 0.0,
        high: float = 0.9,
        epochs: int = 2,
        importance: str = "l2",
        round_to: int | None = None,
    ) -> None:
        self.max_drop, self.steps, self.low, self.high, self.epochs = (
            max_drop,
            steps,
            low,
            high,
            epochs,
        )
        self.prune_options: dict[str, Any] = {"importance": importance, "round_to": round_to}

    def __call__(self, model: Any, context: PassContext) -> Any:
        if not isinstance(model, nn.Module):
            raise ConfigError(f"prune_search works on a torch model, got {type(model).__name__}")
        result = search_ratio(
            model,
            context,
            max_drop=self.max_drop,
            low=self.low,
            high=self.high,
            steps=self.steps,
            epochs=self.epochs,
            prune_options=self.prune_options,
        )
        report = context.record(
            "prune_search",
            ratio=result.ratio,
            accuracy=result.accuracy,
            baseline=result.baseline,
            met_budget=result.met_budget,
            max_drop=self.max_drop,
            candidates=result.candidates,
        )
        if not result.met_budget:
            report.notes.append(
                f"no ratio kept accuracy within {self.max_drop} pt; kept the most accurate "
                f"candidate (ratio {result.ratio}, {percent(result.accuracy)})"
            )
        return result.model
