"""`accel train` and `accel test` with a tiny model and data (accel-core's real runtime)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_helpers import cli, copy_checkpoint, run_dirs

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


def test_resume_from_a_checkpoint_folder_named_with_equals_signs(
    trained_run: Path, tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = copy_checkpoint(trained_run, tiny_project / "shared")  # epoch=000-step=0000004
    argv = ["train", f"resume={ckpt}", "trainer.max_epochs=2", "~callbacks.progress"]
    assert cli(argv) == 0
    [run_dir] = run_dirs(tiny_project)
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["resume"] == str(ckpt)
    assert [p.name for p in (run_dir / "checkpoints").iterdir() if p.is_dir()] == [
        "epoch=001-step=0000008"  # one more epoch, counted on from the checkpoint
    ]


def test_a_sweep_of_more_than_1000_jobs_needs_yes(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "-m", "seed=range(0,1001)", "trainer.max_epochs=0"]
    assert cli(argv) == 2
    assert "1001 jobs (more than 1000); pass --yes" in capsys.readouterr().err
    assert cli([*argv, "--yes"]) == 2  # counted and accepted; then validation stops job 0
    assert "trainer.max_epochs" in capsys.readouterr().err
    assert run_dirs(tiny_project) == []
