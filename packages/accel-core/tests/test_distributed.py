"""What the runtime does with an engine that reports several processes (runtime/distributed.py)."""

from __future__ import annotations

from typing import Any

import pytest

from accel.core.callbacks.checkpoint import ModelCheckpoint
from accel.core.callbacks.lr_monitor import LRMonitor
from accel.core.callbacks.metric_logger import MetricLogger
from accel.core.callbacks.progress import ProgressBar
from accel.core.callbacks.system_monitor import SystemMonitor
from accel.core.callbacks.throughput import Throughput
from accel.core.callbacks.tracker import TrackerCallback
from accel.core.engines.torch_engine import TorchEngine
from accel.core.errors import ConfigError
from accel.core.runtime.distributed import check_devices, rank_callbacks


class SecondOfTwo(TorchEngine):
    """A torch engine that says it is process 1 of 2 (what a launched engine reports)."""

    world_size, rank, is_main_process = 2, 1, False


class ListTracker:
    """A tracker that keeps what it is sent in a list."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def start_run(self, name: Any = None, tags: Any = None) -> None:
        self.calls.append(("start_run", name))

    def log_params(self, params: Any) -> None:
        self.calls.append(("log_params", params))

    def log_metrics(self, metrics: Any, step: int) -> None:
        self.calls.append(("log_metrics", step))

    def log_artifact(self, path: str, artifact_path: Any = None) -> None:
        self.calls.append(("log_artifact", path))

    def log_model(self, path: str, name: str) -> None:
        self.calls.append(("log_model", path))

    def end_run(self, status: str = "FINISHED") -> None:
        self.calls.append(("end_run", status))


def all_callbacks() -> list[object]:
    return [
        ProgressBar(), MetricLogger(), ModelCheckpoint(), LRMonitor(), SystemMonitor(),
        Throughput(), TrackerCallback(ListTracker()),
    ]  # fmt: skip


def test_other_processes_keep_only_callbacks_that_do_not_write() -> None:
    kept = rank_callbacks(all_callbacks(), SecondOfTwo(device="cpu"))
    assert [type(c) for c in kept] == [ModelCheckpoint, LRMonitor]


def test_the_main_process_keeps_every_callback() -> None:
    assert len(rank_callbacks(all_callbacks(), TorchEngine(device="cpu"))) == 7


def test_devices_must_match_the_started_processes() -> None:
    check_devices(2, SecondOfTwo(device="cpu"))
    check_devices(1, SecondOfTwo(device="cpu"))  # the launcher decides
    with pytest.raises(ConfigError, match=r"trainer\.devices=4 but 2 processes were started"):
        check_devices(4, SecondOfTwo(device="cpu"))
    with pytest.raises(ConfigError, match=r"trainer\.devices must be an int >= 1, got 0"):
        check_devices(0, TorchEngine(device="cpu"))


def test_a_deferred_metric_that_saw_nothing_asks_for_num_classes() -> None:
    from accel.core.metrics import build_metrics

    [accuracy] = build_metrics(["accuracy"]).values()  # no num_classes: built at first update
    with pytest.raises(ConfigError, match="metric 'accuracy' saw no predictions"):
        accuracy.compute()
