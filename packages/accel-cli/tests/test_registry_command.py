"""`accel registry list [KIND]`."""

from __future__ import annotations

import pytest

from accel.cli.main import run


def test_lists_core_optimizers_with_their_objects(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(["registry", "list", "optimizers"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "sgd" in out
    assert "torch.optim:SGD" in out
    assert "accel-core" in out
    assert "schedulers" not in out


def test_unknown_kind_names_valid_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(["registry", "list", "optimizer"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "no registry kind 'optimizer'" in err
    assert "Did you mean 'optimizers'?" in err


def test_lists_project_plugins_before_install(
    workdir: object, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run(["add", "loss", "fancy_loss"])
    with pytest.raises(SystemExit):
        run(["registry", "list", "losses"])
    out = capsys.readouterr().out
    assert "fancy_loss" in out
    assert "<local>" in out
