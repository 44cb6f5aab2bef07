"""`accel train` and `accel test` with a tiny model and data (accel-core's real runtime)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_helpers import cli, run_dirs

FAST = ["trainer.max_epochs=1", "~callbacks.progress"]


def test_train_makes_run_dir_with_config_overrides_log_checkpoints(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["train", *FAST]) == 0
    [run_dir] = run_dirs(tiny_project)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["trainer"]["run_dir"] == str(run_dir.relative_to(tiny_project))
    assert "${" not in (run_dir / "config.yaml").read_text()
    assert yaml.safe_load((run_dir / "overrides.yaml").read_text()) == FAST
    assert "run dir" in (run_dir / "accel.log").read_text()
    assert (run_dir / "checkpoints" / "last").exists()
    out = capsys.readouterr().out
    assert "test/accuracy" in out
    assert str(run_dir.relative_to(tiny_project)) in out


def test_sweep_runs_one_dir_per_job(tiny_project: Path) -> None:
    assert cli(["train", "-m", "optimizer.lr=0.1,0.01", *FAST]) == 0
    dirs = run_dirs(tiny_project)
    assert len(dirs) == 2
    assert [d.name[-2:] for d in dirs] == ["-0", "-1"]
    lrs = [yaml.safe_load((d / "config.yaml").read_text())["optimizer"]["lr"] for d in dirs]
    assert lrs == [0.1, 0.01]


def test_bad_sweep_job_fails_before_any_training(tiny_project: Path) -> None:
    assert cli(["train", "-m", "trainer.max_epochs=1,zero"]) == 2
    assert run_dirs(tiny_project) == []


def test_cfg_prints_resolved_config_without_run_dir(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["train", "--cfg", "optimizer.lr=0.5"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["optimizer"]["lr"] == 0.5
    assert printed["scheduler"]["T_max"] == printed["trainer"]["max_epochs"]
    assert not (tiny_project / "runs").exists()


def test_test_command_evaluates_a_checkpoint(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["train", *FAST]) == 0
    [trained] = run_dirs(tiny_project)
    capsys.readouterr()
    assert cli(["test", f"ckpt={trained}"]) == 0
    assert "test/accuracy" in capsys.readouterr().out


def test_test_command_needs_ckpt(tiny_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["test"]) == 2
    assert "ckpt: accel test needs a checkpoint" in capsys.readouterr().err
    assert cli(["test", "ckpt=nowhere/at/all"]) == 2
    assert "ckpt: no such file or folder: nowhere/at/all" in capsys.readouterr().err
    assert run_dirs(tiny_project) == []


def test_test_command_uses_the_checkpoints_model(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["train", "model=tiny_cnn", *FAST]) == 2  # no such option in this project
    (tiny_project / "configs" / "model" / "cnn.yaml").write_text(
        "_target_: accel_cli_testkit.TinyCnn\nin_channels: 1\nnum_classes: 2\nwidth: 4\n"
    )
    assert cli(["train", "model=cnn", *FAST]) == 0
    [trained] = run_dirs(tiny_project)
    capsys.readouterr()
    assert cli(["test", f"ckpt={trained}"]) == 0  # the project's default model is TinyNet
    assert "test/accuracy" in capsys.readouterr().out
