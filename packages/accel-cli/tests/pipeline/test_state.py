"""The step-state file."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.cli.pipeline.state import PipelineState, StepRecord
from accel.core.errors import ConfigError


def test_round_trip(tmp_path: Path) -> None:
    state = PipelineState.load(tmp_path)
    assert not state.done("train")
    state.record("train", StepRecord("done", {"format": "checkpoint", "path": "x"}, {"a": 1.0}))
    state.record("prune", StepRecord("failed", error="boom"))
    again = PipelineState.load(tmp_path)
    assert again.done("train")
    assert not again.done("prune")
    assert again.steps["train"].artifact == {"format": "checkpoint", "path": "x"}
    assert list(again.steps) == ["train", "prune"]


def test_broken_state_file(tmp_path: Path) -> None:
    (tmp_path / "pipeline_state.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not a pipeline state file"):
        PipelineState.load(tmp_path)
