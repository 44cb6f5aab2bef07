"""`accel train` with the real packages: the default run on digits, and a sweep."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

Accel = Callable[..., subprocess.CompletedProcess[str]]  # the `accel` fixture (conftest.py)


def run_dirs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "runs").glob("*/*") if p.is_dir())


@pytest.mark.slow
def test_default_train_reaches_97_percent_on_digits(accel: Accel, tmp_path: Path) -> None:
    """The accuracy bar; the time bar (< 60 s) is measured by benchmarks/train_digits.py, and
    the subprocess's timeout (600 s) only stops a hang."""
    result = accel(["train"], tmp_path)
    assert result.returncode == 0, result.stderr
    [run_dir] = run_dirs(tmp_path)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["model"]["name"] == "resnet20"
    assert config["data"]["name"] == "digits"
    assert (run_dir / "checkpoints" / "last").exists()
    assert (run_dir / "metrics.jsonl").is_file()
    final = [line for line in result.stdout.splitlines() if "test/accuracy" in line][-1]
    accuracy = float(final.split("│")[2])
    print(f"accel train: test accuracy {accuracy:.4f}")
    assert accuracy >= 0.97
    assert "run_dir" in result.stdout


def test_sweep_runs_two_jobs_in_two_run_dirs(accel: Accel, tmp_path: Path) -> None:
    result = accel(
        ["train", "-m", "optimizer.lr=0.1,0.01", "trainer.max_epochs=1", "~callbacks.progress"],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    dirs = run_dirs(tmp_path)
    assert len(dirs) == 2
    lrs = [yaml.safe_load((d / "config.yaml").read_text())["optimizer"]["lr"] for d in dirs]
    assert lrs == [0.1, 0.01]
    assert all((d / "checkpoints" / "last").exists() for d in dirs)
    assert result.stdout.count("test/accuracy") >= 2


def test_unknown_model_is_one_line_exit_2(accel: Accel, tmp_path: Path) -> None:
    result = accel(["train", "model=resnet21"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: In 'accel': Could not find 'model/resnet21'")
    assert "resnet20" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_any_registered_model_takes_channels_and_classes_from_the_data(
    accel: Accel, tmp_path: Path
) -> None:
    result = accel(
        ["train", "model=mobilenetv2", "trainer.max_epochs=1", "~callbacks.progress"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [run_dir] = run_dirs(tmp_path)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["model"] == {"name": "mobilenetv2"}  # the project's config stays as written
    from accel.core.checkpoint import load_checkpoint

    manifest, _ = load_checkpoint(run_dir)
    spec = manifest["model"]["spec"]
    assert (spec["in_channels"], spec["num_classes"]) == (1, 10)


def test_a_model_that_cannot_fit_the_data_is_one_line_not_a_traceback(
    accel: Accel, tmp_path: Path
) -> None:
    result = accel(["train", "model=unet", "trainer.max_epochs=1", "~callbacks.progress"], tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "the first training batch failed" in result.stderr
    assert "check that the model (UNet), the data and the loss" in result.stderr
