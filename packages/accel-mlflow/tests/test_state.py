import pytest

from accel.core.errors import ConfigError
from accel.mlflow.state import RunState


def test_state_round_trips_through_the_run_directory(tmp_path):
    state = RunState("sqlite:///x.db", "exp", run_name="r", start_time=5, tags={"a": "b"})
    state.save(tmp_path)
    assert RunState.load(tmp_path) == state


def test_missing_state_is_none(tmp_path):
    assert RunState.load(tmp_path) is None


def test_a_corrupt_state_file_is_a_config_error(tmp_path):
    RunState.path(tmp_path).write_text("{not json")
    with pytest.raises(ConfigError, match=r"run\.json: not an accel-mlflow run state"):
        RunState.load(tmp_path)
