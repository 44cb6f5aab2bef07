"""Feed an experiment tracker (anything satisfying `accel.core.protocols.Tracker`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from accel.core.callbacks.base import Callback
from accel.core.registry import build


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"optimizer": {"lr": 1e-3}}` -> `{"optimizer.lr": 1e-3}` (lists kept as values)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


class TrackerCallback(Callback):
    """One tracker run per fit/validate/test call: params, step and epoch metrics, files."""

    priority = "lowest"
    main_process_only = True  # with several processes, only the main one reports

    def __init__(self, tracker: Any, log_checkpoints: bool = True) -> None:
        if isinstance(
            tracker, str | Mapping
        ):  # from config: {name: tracker, tracker: {name: mlflow}}
            tracker = build("trackers", tracker)
        self.tracker = tracker
        self.log_checkpoints = log_checkpoints
        self._active = False

    def _begin(self, state: Any, stage: str) -> None:
        if self._active:
            return
        self.tracker.start_run(name=state.run_dir.name, tags={"accel.stage": stage})
        config = getattr(state.trainer, "config", None)
        if config:
            self.tracker.log_params(flatten(config))
        self._active = True

    def _finish(self, state: Any, status: str) -> None:
        if self._active:
            self._active = False
            self.tracker.end_run(status=status)

    def on_fit_start(self, state: Any) -> None:
        self._begin(state, "fit")

    def on_batch_end(self, state: Any) -> None:
        if state.logged is not None:
            self.tracker.log_metrics(state.logged, step=state.global_step)

    def on_epoch_end(self, state: Any) -> None:
        self.tracker.log_metrics(state.metrics, step=state.global_step)

    def on_fit_end(self, state: Any) -> None:
        metrics_file = state.run_dir / "metrics.jsonl"
        if metrics_file.is_file():
            self.tracker.log_artifact(str(metrics_file))
        best = self._best_checkpoint(state)
        if self.log_checkpoints and best is not None:
            self.tracker.log_model(str(best), "model")
        self._finish(state, "FINISHED")

    def _best_checkpoint(self, state: Any) -> Any:
        """The best checkpoint that exists (wherever it lives), else the last one written."""
        for callback in getattr(state.trainer, "callbacks", []):
            best = getattr(callback, "best_path", None)
            if best is not None and Path(best).is_dir():
                return best
        return state.checkpoint_path

    def on_validation_start(self, state: Any) -> None:
        if not state.in_fit:
            self._begin(state, "validate")

    def on_validation_end(self, state: Any) -> None:
        if not state.in_fit:
            self.tracker.log_metrics(state.metrics, step=state.global_step)
            self._finish(state, "FINISHED")

    def on_test_start(self, state: Any) -> None:
        self._begin(state, "test")

    def on_test_end(self, state: Any) -> None:
        self.tracker.log_metrics(state.metrics, step=state.global_step)
        self._finish(state, "FINISHED")

    def on_exception(self, state: Any) -> None:
        self._finish(state, "FAILED")
