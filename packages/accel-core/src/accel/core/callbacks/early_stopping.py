"""Stop training when a monitored metric stops improving."""

from __future__ import annotations

import math
from typing import Any

from accel.core.callbacks.base import Callback
from accel.core.errors import ConfigError

MODES = ("min", "max")


class EarlyStopping(Callback):
    """Stop after `patience` epochs without an improvement of more than `min_delta`."""

    priority = "lowest"  # after the checkpoint callback has saved this epoch

    def __init__(
        self,
        monitor: str = "val/loss",
        mode: str = "min",
        patience: int = 3,
        min_delta: float = 0.0,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"early_stopping.mode={mode!r} is not valid; use one of min, max")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"early_stopping.patience must be an int >= 1, got {patience!r}")
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.best: float | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return math.isfinite(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_fit_start(self, state: Any) -> None:
        if state.resumed_from is None:
            self.best, self.wait, self.stopped_epoch = None, 0, None

    def on_epoch_end(self, state: Any) -> None:
        if self.monitor not in state.metrics:
            raise ConfigError(
                f"early_stopping monitors {self.monitor!r}, which is not a metric; "
                f"available: {', '.join(sorted(state.metrics))}"
            )
        value = float(state.metrics[self.monitor])
        if self._improved(value):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            state.should_stop = True
            self.stopped_epoch = state.epoch

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state.get("best"), int(state.get("wait", 0))
