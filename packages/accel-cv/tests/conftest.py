"""Shared fixtures: real images from scikit-image, as numpy arrays and as (1, C, H, W) tensors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data, util

TESTS = Path(__file__).parent
if str(TESTS) not in sys.path:  # cv_helpers beside the tests
    sys.path.insert(0, str(TESTS))


@pytest.fixture(scope="session")
def gray_image() -> np.ndarray:
    """skimage's camera, (512, 512) in [0, 1], down-sampled to (256, 256) to keep tests quick."""
    return util.img_as_float(data.camera())[::2, ::2]


@pytest.fixture(scope="session")
def color_image() -> np.ndarray:
    """skimage's astronaut, (512, 512, 3) in [0, 1], down-sampled to (256, 256, 3)."""
    return util.img_as_float(data.astronaut())[::2, ::2]


@pytest.fixture(scope="session")
def coffee_image() -> np.ndarray:
    """skimage's coffee, a second real color image, down-sampled (200, 300, 3)."""
    return util.img_as_float(data.coffee())[::2, ::2]


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Run accel-cv's tests on one intra-op thread: on this shared 2-core machine, torch's
    spinning thread pool under load made small ops 10-50× slower than a single thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
