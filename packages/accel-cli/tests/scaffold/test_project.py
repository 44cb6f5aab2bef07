"""`accel configure init|status|clean|configure|index`."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import cli

from accel.cli.config.compose import compose
from accel.cli.scaffold.project import changed_values, copy_defaults, init_project, project_files
from accel.core.errors import ConfigError


def test_init_writes_minimal_main_and_indexes(workdir: Path) -> None:
    configs = workdir / "configs"
    init_project(configs)
    assert "- accel" in (configs / "main.yaml").read_text()
    assert (configs / "optimizer" / "INDEX.md").read_text().count("| sgd |") == 1
    assert compose([]).optimizer.lr == 0.1  # same as the packaged defaults
    with pytest.raises(ConfigError, match=r"main\.yaml exists already: use --force"):
        init_project(configs)
    init_project(configs, force=True)


def test_copy_defaults_then_edit(workdir: Path) -> None:
    configs = workdir / "configs"
    copy_defaults(configs)
    assert (configs / "main.yaml").is_file()
    assert (configs / "optimizer" / "sgd.yaml").is_file()
    assert not (configs / "accel.yaml").exists()
    sgd = configs / "optimizer" / "sgd.yaml"
    sgd.write_text(sgd.read_text().replace("lr: 0.1", "lr: 0.3"))
    assert compose([]).optimizer.lr == 0.3
    copy_defaults(configs)  # existing files are kept
    assert "lr: 0.3" in sgd.read_text()


def test_status_lists_files_and_changed_values(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["configure", "status"]) == 0
    assert "packaged defaults only" in capsys.readouterr().out
    init_project(workdir / "configs")
    (workdir / "configs" / "optimizer" / "sgd.yaml").write_text("name: sgd\nlr: 0.2\n")
    assert cli(["configure", "status"]) == 0
    out = capsys.readouterr().out
    assert "optimizer/sgd.yaml" in out
    assert "replaces a packaged option" in out
    assert "optimizer.lr" in out
    assert "optimizer.momentum" in out


def test_project_files_roles(workdir: Path) -> None:
    configs = workdir / "configs"
    init_project(configs)
    (configs / "model" / "mine.yaml").write_text("name: resnet20\n")
    roles = dict(project_files(configs))
    assert roles == {"main.yaml": "primary config", "model/mine.yaml": "adds an option"}


def test_changed_values_ignores_run_dir() -> None:
    ours = {"trainer": {"run_dir": "a", "max_epochs": 3}, "new": 1}
    theirs = {"trainer": {"run_dir": "b", "max_epochs": 8}}
    assert changed_values(ours, theirs) == [("new", "-", 1), ("trainer.max_epochs", 8, 3)]


def test_clean_asks_and_removes(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_project(workdir / "configs")
    monkeypatch.setattr("typer.confirm", lambda *_a, **_k: False)
    assert cli(["configure", "clean"]) == 1
    assert (workdir / "configs").exists()
    assert cli(["configure", "clean", "--yes"]) == 0
    assert not (workdir / "configs").exists()


def test_clean_without_project(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["configure", "clean", "--yes"]) == 2
    assert "no project configs to remove" in capsys.readouterr().err


def test_index_command(workdir: Path) -> None:
    assert cli(["configure", "index"]) == 0
    text = (workdir / "configs" / "scheduler" / "INDEX.md").read_text()
    assert "| cosine | packaged default |" in text
    assert "| step | registry: torch.optim.lr_scheduler:StepLR (accel-core) |" in text
