"""Hydra composition: packaged defaults, project configs, overrides, registry-made options."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.cli.config.compose import compose, primary_name, project_dir
from accel.core.errors import ConfigError


def test_packaged_defaults_without_project(workdir: Path) -> None:
    config = compose([])
    assert config.model.name == "resnet20"
    assert config.data.name == "digits"
    assert config.optimizer.lr == 0.1
    assert primary_name(workdir / "configs") == "accel"


def test_project_file_shadows_packaged_option(workdir: Path) -> None:
    (workdir / "configs" / "optimizer").mkdir(parents=True)
    (workdir / "configs" / "optimizer" / "sgd.yaml").write_text("name: sgd\nlr: 0.5\n")
    assert compose([]).optimizer.lr == 0.5
    assert "momentum" not in compose([]).optimizer


def test_project_main_overrides_group_choice(tiny_project: Path) -> None:
    config = compose([])
    assert config.model["_target_"] == "accel_cli_testkit.TinyNet"
    assert primary_name(tiny_project / "configs") == "main"


def test_overrides_in_hydra_grammar(workdir: Path) -> None:
    config = compose(["optimizer.lr=0.01", "+extra.key=3", "~callbacks.progress", "scheduler=none"])
    assert config.optimizer.lr == 0.01
    assert config.extra.key == 3
    assert "progress" not in config.callbacks
    assert config.scheduler is None


def test_registry_name_without_file_is_an_option(workdir: Path) -> None:
    config = compose(["optimizer=adam", "scheduler=step"])
    assert dict(config.optimizer) == {"name": "adam"}
    assert dict(config.scheduler) == {"name": "step"}


def test_env_var_points_at_another_project(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path_factory.mktemp("other")
    monkeypatch.setenv("ACCEL_CONFIGS", str(other))
    assert project_dir() == other


def test_unknown_key_names_valid_keys(workdir: Path) -> None:
    with pytest.raises(ConfigError, match=r"optimizer.lrr: no such key.*valid keys: name, lr"):
        compose(["optimizer.lrr=1"])


def test_unknown_group_option_lists_options(workdir: Path) -> None:
    with pytest.raises(ConfigError, match=r"Could not find 'model/nope'.*Available options"):
        compose(["model=nope"])


def test_bad_syntax_names_the_override(workdir: Path) -> None:
    with pytest.raises(ConfigError, match=r"override 'a.b=\[1,2' is not valid Hydra syntax"):
        compose(["a.b=[1,2"])


def test_compose_many_gives_what_compose_gives(tiny_project: Path) -> None:
    from omegaconf import OmegaConf

    from accel.cli.config.compose import compose_many

    jobs = [
        ["seed=3"],
        ["~callbacks.progress", "trainer.max_epochs=2"],
        ["optimizer=adamw", "optimizer.lr=0.5"],
        ["+trainer.extra=1", "scheduler=none"],
        ["ckpt=runs/x/epoch=001-step=2"],
        [],
    ]
    for job, composed in zip(jobs, compose_many(jobs), strict=True):
        many, one = (OmegaConf.to_container(c) for c in (composed.config, compose(job)))
        assert isinstance(many, dict)
        assert isinstance(one, dict)
        for config in (many, one):
            config["trainer"].pop("run_dir")  # ${now:} may differ by a second
        assert many == one, job


def test_compose_many_errors_are_composes_errors(tiny_project: Path) -> None:
    from accel.cli.config.compose import compose_many

    with pytest.raises(ConfigError, match=r"optimizer.lrr: no such key in optimizer"):
        list(compose_many([["seed=1"], ["optimizer.lrr=1"]]))
    with pytest.raises(ConfigError, match=r"Ambiguous value for argument 'seed=1,2'"):
        list(compose_many([["seed=1,2"]]))


def test_a_deeply_nested_project_file_is_named(tiny_project: Path) -> None:
    path = tiny_project / "configs" / "data" / "tiny.yaml"
    path.write_text("a: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ConfigError, match=r"data/tiny.yaml: nested too deeply to read"):
        compose([])
