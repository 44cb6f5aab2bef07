"""accel-cv components driven by config through accel-core's runtime and the accel CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from accel.core.runtime import run_from_config

ACCEL = [sys.executable, "-m", "accel.cli"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: much faster than two on this shared, loaded 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_config_trains_a_cv_model_with_mixup_and_a_cv_loss(tmp_path: Path) -> None:
    config = {
        "seed": 0,
        "data": {
            "name": "digits",
            "batch_size": 32,
            "image_size": 12,
            "transform": {
                "name": "classification_preset",
                "size": 12,
                "num_classes": 10,
                "flip": False,
                "mixup_alpha": 0.2,
            },
        },
        "model": {
            "name": "repvgg",
            "in_channels": 1,
            "widths": [8, 16],
            "depths": [1, 1],
            "strides": [1, 2],
        },
        "optimizer": {"name": "adamw", "lr": 0.01},
        "loss": {"name": "focal", "gamma": 1.0},
        "trainer": {"max_epochs": 1, "run_dir": str(tmp_path)},
        "callbacks": [],
    }
    metrics = run_from_config(config)
    losses = {k: v for k, v in metrics.items() if k.endswith("loss")}
    assert losses
    assert all(math.isfinite(v) for v in losses.values())


def test_cli_lists_cv_components_and_analyzes_digits(tmp_path: Path) -> None:
    listed = subprocess.run(
        [*ACCEL, "registry", "list", "losses"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=True,
    )
    for name in ("ssim", "ms_ssim", "delta_e2000", "focal", "dice", "perceptual"):
        assert name in listed.stdout
    done = subprocess.run(
        [*ACCEL, "analyze-data", "--max-samples", "50", "--samples", "4"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(next(tmp_path.rglob("data_analysis.json")).read_text())
    text = json.dumps(report)
    assert "8x8" in text
    assert "channel_mean" in text or "mean" in text
