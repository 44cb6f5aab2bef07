"""Add CPU, RAM and (when present) GPU memory use to the logged metrics, via psutil."""

from __future__ import annotations

import time
from typing import Any

import psutil
import torch

from accel.core.callbacks.base import Callback


def system_usage() -> dict[str, float]:
    """CPU %, RAM %, this process's RSS (GiB), and CUDA memory (GiB) when CUDA is in use."""
    usage = {
        "system/cpu_percent": psutil.cpu_percent(interval=None),
        "system/ram_percent": psutil.virtual_memory().percent,
        "system/process_rss_gib": psutil.Process().memory_info().rss / 2**30,
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        usage["system/gpu_allocated_gib"] = torch.cuda.memory_allocated() / 2**30
        usage["system/gpu_reserved_gib"] = torch.cuda.memory_reserved() / 2**30
    return usage


class SystemMonitor(Callback):
    """On logging steps at most every `interval_s` seconds, and at each epoch end."""

    priority = "high"
    main_process_only = True  # with several processes, only the main one reports

    def __init__(self, interval_s: float = 10.0) -> None:
        self.interval_s = interval_s
        self._next = 0.0
        psutil.cpu_percent(interval=None)  # prime: the first reading is relative to this one

    def on_batch_end(self, state: Any) -> None:
        now = time.monotonic()
        if state.logged is not None and now >= self._next:
            self._next = now + self.interval_s
            state.logged.update(system_usage())

    def on_epoch_end(self, state: Any) -> None:
        state.metrics.update(system_usage())
