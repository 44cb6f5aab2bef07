"""Append metrics to `run_dir/metrics.jsonl`: one JSON object per logging step or epoch."""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path
from typing import IO, Any

from accel.core.atomic import write_text_atomic
from accel.core.callbacks.base import Callback


class MetricLogger(Callback):
    """Writes step metrics (every `log_every_n_steps`), epoch metrics and evaluation results.

    With `csv=True` the records are also written as `metrics.csv` (one column per metric
    name) when the fit or test ends, for spreadsheets; the JSONL file is the live one.
    """

    priority = "low"
    main_process_only = True  # with several processes, only the main one reports

    def __init__(self, filename: str = "metrics.jsonl", csv: bool = True) -> None:
        self.filename, self.csv = filename, csv
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
            path = Path(self._handle.name)
            self._handle.close()
            self._handle = None
            if self.csv:
                write_csv(path, path.with_suffix(".csv"))


def write_csv(jsonl: Path, target: Path) -> None:
    """Rewrite a JSONL metrics file as CSV (columns: the union of keys), atomically."""
    records = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    columns = list(dict.fromkeys(key for record in records for key in record))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    writer.writerows(records)
    write_text_atomic(target, text.getvalue())
