"""The step-state file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accel.cli.pipeline.state import PipelineState, StepRecord
from accel.core.errors import ConfigError
from accel.core.trust import UntrustedFileError, allowing_targets


def test_round_trip(tmp_path: Path) -> None:
    state = PipelineState.load(tmp_path)
    assert not state.done("train")
    step = str(tmp_path / "steps" / "00-train")  # artifacts lie inside the run dir
    state.record("train", StepRecord("done", {"format": "checkpoint", "path": step}, {"a": 1.0}))
    state.record("prune", StepRecord("failed", error="boom"))
    again = PipelineState.load(tmp_path)
    assert again.done("train")
    assert not again.done("prune")
    assert again.steps["train"].artifact == {"format": "checkpoint", "path": step}
    assert list(again.steps) == ["train", "prune"]


def test_broken_state_file(tmp_path: Path) -> None:
    (tmp_path / "pipeline_state.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not a pipeline state file"):
        PipelineState.load(tmp_path)


def write_state(run_dir: Path, record: dict[str, object]) -> None:
    (run_dir / "pipeline_state.json").write_text(json.dumps({"steps": {"train": record}}))


def test_an_artifact_linked_out_of_the_run_dir_is_refused(tmp_path: Path) -> None:
    run_dir, outside = tmp_path / "run", tmp_path / "outside.onnx"
    (run_dir / "steps").mkdir(parents=True)
    outside.write_text("a user's model")
    (run_dir / "steps" / "model.onnx").symlink_to(outside)
    artifact = {"format": "onnx", "path": str(run_dir / "steps" / "model.onnx")}
    write_state(run_dir, {"status": "done", "artifact": artifact})
    with pytest.raises(ConfigError, match=r"steps.train.artifact.path=.*expected a path inside"):
        PipelineState.load(run_dir)


@pytest.mark.parametrize(
    ("artifact", "message"),
    [
        ({"format": "pickle", "path": "RUN/x"}, r"artifact.format='pickle': expected one of"),
        ({"format": "onnx", "path": "/etc/passwd"}, r"artifact.path='/etc/passwd'"),
        ({"path": "RUN/x"}, r"artifact.format=None"),
    ],
)
def test_artifact_checks(artifact: dict[str, str], message: str, tmp_path: Path) -> None:
    artifact = {k: v.replace("RUN", str(tmp_path)) for k, v in artifact.items()}
    write_state(tmp_path, {"status": "done", "artifact": artifact})
    with pytest.raises(ConfigError, match=message):
        PipelineState.load(tmp_path)


def test_an_artifact_spec_may_name_only_allowed_targets(tmp_path: Path) -> None:
    spec = {"_target_": "accel_cli_testkit.TinyCnn"}
    artifact = {"format": "module", "path": str(tmp_path / "m.safetensors"), "spec": spec}
    write_state(tmp_path, {"status": "done", "artifact": artifact})
    with pytest.raises(UntrustedFileError, match=r"steps.train.artifact.spec._target_"):
        PipelineState.load(tmp_path)
    with allowing_targets([spec["_target_"]]):  # the user's own config names it
        assert PipelineState.load(tmp_path).steps["train"].artifact == artifact
