"""Measure training speed: steps/s and samples/s on logging steps, seconds per epoch."""

from __future__ import annotations

import time
from typing import Any

from accel.core.callbacks.base import Callback


class Throughput(Callback):
    """Adds `time/steps_per_s`, `time/samples_per_s` when logging, `time/epoch_s` per epoch."""

    priority = "high"
    main_process_only = True  # with several processes, only the main one reports

    def __init__(self) -> None:
        self._mark: tuple[float, int] | None = None
        self._epoch_start = 0.0

    def on_epoch_start(self, state: Any) -> None:
        self._epoch_start = time.perf_counter()
        self._mark = (self._epoch_start, state.global_step)

    def on_batch_end(self, state: Any) -> None:
        if state.logged is None or self._mark is None:
            return
        now = time.perf_counter()
        then, step = self._mark
        steps = state.global_step - step
        if steps > 0 and now > then:
            rate = steps / (now - then)
            state.logged["time/steps_per_s"] = rate
            if state.batch_size:
                state.logged["time/samples_per_s"] = rate * state.batch_size
        self._mark = (now, state.global_step)

    def on_epoch_end(self, state: Any) -> None:
        state.metrics["time/epoch_s"] = time.perf_counter() - self._epoch_start
