"""Seeding, deterministic mode, and capture/restore of every random number generator."""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

from accel.core.errors import ConfigError
from accel.core.value_ranges import MAX_SEED, check_seed


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices) with one integer in [0, 2**32 - 1]."""
    if seed is None:
        raise ConfigError(f"seed=None: expected an int in [0, {MAX_SEED}]")
    check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_deterministic(enabled: bool) -> None:
    """Ask torch for deterministic kernels (and fail loudly on ops that have none)."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=False)
    torch.backends.cudnn.benchmark = not enabled if torch.backends.cudnn.is_available() else False
    torch.backends.cudnn.deterministic = enabled


def capture_rng() -> dict[str, Any]:
    """The state of every generator, as tensors and plain values (no pickle needed)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if torch.backends.mps.is_available():
        state["mps"] = torch.mps.get_rng_state()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put every generator back to a state from `capture_rng`."""
    random.setstate(_as_tuple(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"].to("cpu", torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.to("cpu", torch.uint8) for s in state["cuda"]])
    if "mps" in state and torch.backends.mps.is_available():
        torch.mps.set_rng_state(state["mps"].to("cpu", torch.uint8))


def _as_tuple(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_as_tuple(v) for v in value)
    return value
