"""`accel add loss my_loss`, then `accel train loss=my_loss`, on the scaffold as written."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

Accel = Callable[..., subprocess.CompletedProcess[str]]  # the `accel` fixture (conftest.py)


def test_add_loss_then_train_with_it(accel: Accel, tmp_path: Path) -> None:
    added = accel(["add", "loss", "my_loss"], tmp_path)
    assert added.returncode == 0, added.stderr
    assert "configs/loss/my_loss.yaml" in added.stdout
    listed = accel(["registry", "list", "losses"], tmp_path)
    assert "my_loss" in listed.stdout
    trained = accel(
        ["train", "loss=my_loss", "trainer.max_epochs=1", "~callbacks.progress"], tmp_path
    )
    assert trained.returncode == 0, trained.stderr
    assert "test/accuracy" in trained.stdout
    [run_dir] = list((tmp_path / "runs").glob("*/*"))
    assert "name: my_loss" in (run_dir / "config.yaml").read_text()


def test_add_model_then_analyze_it(accel: Accel, tmp_path: Path) -> None:
    assert accel(["add", "model", "tiny_cnn"], tmp_path).returncode == 0
    result = accel(["analyze-model", "model=tiny_cnn", "--runs", "2"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "parameters" in result.stdout
