"""Seeding and the deterministic switch."""

from __future__ import annotations

import random

import numpy as np
import torch

from accel.core.seeding import seed_everything, set_deterministic


def test_seed_everything_repeats_python_numpy_and_torch_draws() -> None:
    seed_everything(5)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(5)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_deterministic_mode_switches_torch_algorithms() -> None:
    try:
        set_deterministic(True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        set_deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()
