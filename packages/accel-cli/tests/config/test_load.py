"""From overrides to a resolved config with its run directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.cli.config.load import load_config, reference_configs
from accel.cli.config.rundir import claim_run_dir
from accel.core.errors import ConfigError


def test_now_is_resolved_once_and_shared(tiny_project: Path) -> None:
    loaded = load_config(
        ["+callbacks.ck={_target_: x.Y, dirpath: '${trainer.run_dir}/ckpt'}"],
        check=False,
        claim=lambda base: claim_run_dir(base),
    )
    run_dir = loaded.config["trainer"]["run_dir"]
    assert "${" not in run_dir
    assert Path(run_dir).is_dir()
    assert loaded.config["callbacks"]["ck"]["dirpath"] == f"{run_dir}/ckpt"


def test_second_claim_in_same_second_gets_suffix_everywhere(tiny_project: Path) -> None:
    override = [
        "trainer.run_dir=runs/fixed",
        "+callbacks.ck={_target_: x.Y, d: '${trainer.run_dir}'}",
    ]
    first = load_config(override, check=False, claim=claim_run_dir).config
    second = load_config(override, check=False, claim=claim_run_dir).config
    assert first["trainer"]["run_dir"] == "runs/fixed"
    assert second["trainer"]["run_dir"] == "runs/fixed-1"
    assert second["callbacks"]["ck"]["d"] == "runs/fixed-1"


def test_interpolation_error_names_key(tiny_project: Path) -> None:
    with pytest.raises(ConfigError, match=r"optimizer.lr: .*nope"):
        load_config(["optimizer.lr=${nope}"])


def test_trainer_options_checked_by_core(tiny_project: Path) -> None:
    with pytest.raises(ConfigError, match=r"trainer.device='tpu' is not valid"):
        load_config(["trainer.device=tpu"])


def test_references_follow_group_choice_only(tiny_project: Path) -> None:
    project, packaged = reference_configs(["optimizer=adamw", "optimizer.lr=3", "seed=x"])
    assert project["optimizer"]["name"] == packaged["optimizer"]["name"] == "adamw"
    assert project["optimizer"]["lr"] == 0.001
    assert project["seed"] == 0
    assert "_target_" in project["model"]
    assert packaged["model"]["name"] == "resnet20"


def test_project_values_fix_types(tiny_project: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.batch_size: expected int, got float 2\.5"):
        load_config(["data.batch_size=2.5"])
