"""The config handed to accel-core's runtime, threads, and the shared run dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from accel.cli.jobs import fill_tracker_overrides
from accel.cli.runtime_bridge import apply_threads, shared_run_dir, to_runtime
from accel.core.errors import ConfigError


def test_to_runtime_lists_callbacks_and_drops_cli_keys() -> None:
    config = {
        "callbacks": {"a": {"name": "progress"}, "off": None, "b": {"name": "checkpoint"}},
        "compress": {},
        "pipeline": None,
        "ckpt": None,
        "threads": 1,
        "seed": 3,
    }
    assert to_runtime(config) == {
        "callbacks": [{"name": "progress"}, {"name": "checkpoint"}],
        "seed": 3,
    }


def test_apply_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    try:
        apply_threads({"threads": 1})
        assert torch.get_num_threads() == 1
        apply_threads({"threads": None})
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ConfigError, match="threads: expected an int >= 1 or null, got 0"):
        apply_threads({"threads": 0})


def test_shared_run_dir_sets_and_restores_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCEL_RUN_DIR", "outer")
    with shared_run_dir(Path("inner")):
        assert os.environ["ACCEL_RUN_DIR"] == "inner"
    assert os.environ["ACCEL_RUN_DIR"] == "outer"
    monkeypatch.delenv("ACCEL_RUN_DIR")
    with shared_run_dir(Path("inner")):
        pass
    assert "ACCEL_RUN_DIR" not in os.environ


def test_tracker_gets_overrides_only_when_asked() -> None:
    config = {"tracker": {"name": "mlflow", "overrides": None}}
    fill_tracker_overrides(config, ["a=1"])
    assert config["tracker"]["overrides"] == ["a=1"]
    fixed = {"tracker": {"name": "x", "overrides": ["keep"]}}
    fill_tracker_overrides(fixed, ["a=1"])
    assert fixed["tracker"]["overrides"] == ["keep"]
    plain = {"tracker": {"name": "x"}}
    fill_tracker_overrides(plain, ["a=1"])
    assert plain == {"tracker": {"name": "x"}}
