"""Append metrics to `run_dir/metrics.jsonl`: one JSON object per logging step or epoch."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import IO, Any

from accel.core.callbacks.base import Callback


class MetricLogger(Callback):
    """Writes step metrics (every `log_every_n_steps`), epoch metrics and evaluation results."""

    priority = "low"

    def __init__(self, filename: str = "metrics.jsonl") -> None:
        self.filename = filename
        self._handle: IO[str] | None = None

    @property
    def path(self) -> Path | None:
        return Path(self._handle.name) if self._handle is not None else None

    def _write(self, state: Any, kind: str, metrics: dict[str, float]) -> None:
        if self._handle is None:
            state.run_dir.mkdir(parents=True, exist_ok=True)
            self._handle = open(state.run_dir / self.filename, "a", buffering=1)  # noqa: SIM115
        record = {
            "kind": kind,
            "time": round(time.time(), 3),
            "epoch": state.epoch,
            "step": state.global_step,
            **{k: (v if math.isfinite(v) else str(v)) for k, v in metrics.items() if k != "epoch"},
        }
        self._handle.write(json.dumps(record) + "\n")

    def on_batch_end(self, state: Any) -> None:
        if state.logged is not None:
            self._write(state, "step", state.logged)

    def on_epoch_end(self, state: Any) -> None:
        self._write(state, "epoch", state.metrics)

    def on_validation_end(self, state: Any) -> None:
        if not state.in_fit:
            self._write(state, "validate", state.metrics)

    def on_test_end(self, state: Any) -> None:
        self._write(state, "test", state.metrics)
        self._close(state)

    def on_fit_end(self, state: Any) -> None:
        self._close(state)

    def on_exception(self, state: Any) -> None:
        self._close(state)

    def _close(self, state: Any) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
