"""The example project in configs/ and the MLproject entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = sorted(f"{path.parent.name}={path.stem}" for path in (ROOT / "configs").glob("*/*.yaml"))


@pytest.mark.parametrize("option", OPTIONS)
def test_every_example_option_composes_and_validates(
    option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accel.cli.config.load import load_config

    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("ACCEL_CONFIGS", raising=False)
    config = load_config([option]).config
    group = option.split("=")[0]
    assert config[group] is not None


def test_example_project_default_is_the_packaged_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from accel.cli.config.load import load_config

    monkeypatch.chdir(ROOT)
    config = load_config([]).config
    assert (config["model"]["name"], config["data"]["name"]) == ("resnet20", "digits")


def test_mlproject_entry_points_run_accel_commands() -> None:
    project = yaml.safe_load((ROOT / "MLproject").read_text())
    commands = {name: entry["command"] for name, entry in project["entry_points"].items()}
    assert commands["accelerator"].startswith("accel train")
    assert commands["model_analysis"].startswith("accel analyze-model")
    assert commands["data_analysis"].startswith("accel analyze-data")


@pytest.mark.slow
def test_mlflow_runs_model_analysis(tmp_path: Path) -> None:
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlflow",
            "run",
            str(ROOT),
            "-e",
            "model_analysis",
            "--env-manager",
            "local",
            "-P",
            "runs=2",
            "-P",
            f"overrides=trainer.run_dir={tmp_path / 'run'}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "model_analysis.json").is_file()
