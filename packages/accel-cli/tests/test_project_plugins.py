"""A project's own plugins (written by `accel add`), named in files by registry name."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import cli, run_dirs

from accel.cli.project_plugins import Deferred


def test_deferred_imports_its_declared_target_only_when_called(workdir: Path) -> None:
    factory = Deferred("accel_cli_testkit:TinyNet")
    assert factory.__name__ == "TinyNet"
    assert factory(in_channels=1, num_classes=3)[1].out_features == 3


def test_a_checkpoint_naming_a_project_plugin_opens_without_the_flag(
    tiny_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plugin's module path is the project's declaration, not the file's: a checkpoint
    that names the plugin by registry name is rebuilt under the loading policy."""
    assert cli(["add", "model", "small_cnn"]) == 0
    fast = ["trainer.max_epochs=1", "~callbacks.progress"]
    assert cli(["train", "model=small_cnn", *fast]) == 0
    [trained] = run_dirs(tiny_project)
    capsys.readouterr()
    assert cli(["analyze-model", f"ckpt={trained}", "--runs", "1"]) == 0
    assert "Conv2d" in capsys.readouterr().out
