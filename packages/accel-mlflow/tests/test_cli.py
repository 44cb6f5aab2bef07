import pytest
from typer.testing import CliRunner

from accel.core.errors import ConfigError
from accel.mlflow.cli import app
from accel.mlflow.state import RunState
from accel.mlflow.sync import find_state_dirs


def test_sync_rejects_a_missing_directory(tmp_path):
    with pytest.raises(ConfigError, match=r"accel mlflow sync: .*nowhere is not a directory"):
        find_state_dirs(tmp_path / "nowhere")


def test_sync_says_when_there_is_no_run(tmp_path):
    result = CliRunner().invoke(app, ["sync", str(tmp_path)])
    assert isinstance(result.exception, ConfigError)
    assert "no accel-mlflow run under" in str(result.exception)


def test_parents_are_synced_before_children(tmp_path):
    for sub in ("mlflow/children/a/mlflow", "mlflow"):
        RunState("sqlite:///x.db", "e").save(tmp_path / sub)
    assert find_state_dirs(tmp_path) == [tmp_path / "mlflow", tmp_path / "mlflow/children/a/mlflow"]


def test_status_shows_unsent_bytes(tmp_path):
    RunState("http://127.0.0.1:1", "e").save(tmp_path / "mlflow")
    result = CliRunner().invoke(app, ["status", str(tmp_path)])
    assert result.exit_code == 0
    assert "(not created yet)" in result.output
    assert "0 bytes unsent" in result.output


def test_accel_cli_finds_the_mlflow_command():
    from accel.core.registry import registry

    assert registry("commands").get("mlflow") is app
