"""A rich progress bar: epoch and evaluation bars with ETA, it/s and live metrics."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from accel.core.callbacks.base import Callback


class ProgressBar(Callback):
    """Shows one bar per epoch (and per evaluation), refreshed at most `refresh_s` apart."""

    priority = "high"
    main_process_only = True  # with several processes, only the main one reports

    def __init__(self, refresh_s: float = 0.2, console: Console | None = None) -> None:
        self.refresh_s = refresh_s
        self.console = console
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._eval_task: TaskID | None = None
        self._next = 0.0
        self._metrics = ""
        self._epoch_start, self._epoch_first = 0.0, 0
        self._standalone = False

    def _start(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[metrics]}"),
                console=self.console or Console(stderr=True),
                refresh_per_second=4,
            )
            self._progress.start()
        return self._progress

    def _stop(self, state: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress, self._task, self._eval_task = None, None, None

    def on_fit_start(self, state: Any) -> None:
        self._start()

    def on_epoch_start(self, state: Any) -> None:
        progress = self._start()
        if self._task is not None:
            progress.update(self._task, visible=False)
        self._task = progress.add_task(
            f"epoch {state.epoch + 1}/{state.max_epochs}",
            total=state.num_batches,
            completed=state.batch_idx,
            rate="",
            metrics=self._metrics,
        )
        self._epoch_start, self._epoch_first = time.monotonic(), state.batch_idx
        self._next = 0.0

    def on_batch_end(self, state: Any) -> None:
        if state.logged is not None:
            self._metrics = _format(state.logged)
        now = time.monotonic()
        if now < self._next or self._progress is None or self._task is None:
            return
        self._next = now + self.refresh_s
        self._refresh(state, now)

    def _refresh(self, state: Any, now: float) -> None:
        assert self._progress is not None
        assert self._task is not None
        elapsed = max(now - self._epoch_start, 1e-9)
        rate = (state.batch_idx - self._epoch_first) / elapsed
        self._progress.update(
            self._task, completed=state.batch_idx, rate=f"{rate:.1f} it/s", metrics=self._metrics
        )

    def on_epoch_end(self, state: Any) -> None:
        self._metrics = _format(state.metrics)
        if self._progress is not None and self._task is not None:
            self._refresh(state, time.monotonic())

    def on_validation_start(self, state: Any) -> None:
        self._eval_start(state, "validate")

    def on_test_start(self, state: Any) -> None:
        self._eval_start(state, "test")

    def _eval_start(self, state: Any, label: str) -> None:
        self._standalone = not state.in_fit
        progress = self._start()
        self._eval_task = progress.add_task(
            label, total=state.eval_num_batches, rate="", metrics=""
        )

    def on_eval_batch_end(self, state: Any) -> None:
        if self._progress is not None and self._eval_task is not None:
            self._progress.update(self._eval_task, completed=state.eval_batch_idx)

    def on_validation_end(self, state: Any) -> None:
        self._eval_end(state)

    def on_test_end(self, state: Any) -> None:
        self._eval_end(state)

    def _eval_end(self, state: Any) -> None:
        if self._progress is not None and self._eval_task is not None:
            self._progress.update(self._eval_task, visible=False)
            self._eval_task = None
        if self._standalone:
            if self._progress is not None:
                self._progress.console.print(_format(state.metrics))
            self._stop(state)

    def on_fit_end(self, state: Any) -> None:
        self._stop(state)

    def on_exception(self, state: Any) -> None:
        self._stop(state)


def _format(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "epoch")
