"""`accel pipeline` with an OpenVINO int8 step: the IR (`model.xml` + `model.bin`) is handed to
the export step whole, and the evaluate step runs it with OpenVINO's CPU plugin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from accel.cli.main import run
from accel.core.inference import predictor

PIPELINE = """\
name: train_openvino
steps:
  - {name: train, kind: train}
  - {name: quantize, kind: compress, passes: [{name: quantize, backend: openvino}]}
  - {name: export, kind: export}
  - {name: evaluate, kind: evaluate}
"""
TRAINING = ["trainer.max_epochs=4"]  # well above chance on digits, in seconds


def test_an_openvino_step_is_exported_and_evaluated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "configs" / "pipeline").mkdir(parents=True)
    (tmp_path / "configs" / "pipeline" / "train_openvino.yaml").write_text(PIPELINE)
    with pytest.raises(SystemExit) as info:
        run(["pipeline", "run", "pipeline=train_openvino", *TRAINING, "~callbacks.progress"])
    assert not info.value.code
    [report_file] = (tmp_path / "runs").glob("*/*/report.json")
    report = json.loads(report_file.read_text())
    assert all(s["status"] == "done" for s in report["steps"].values())
    quantized = report["steps"]["quantize"]["artifact"]
    exported = report["steps"]["export"]["artifact"]
    assert quantized["format"] == exported["format"] == "openvino"
    final = Path(exported["path"])
    assert final.parent != Path(quantized["path"]).parent  # copied into the export step
    assert final.suffix == ".xml"
    assert final.with_suffix(".bin").stat().st_size > 10_000
    models = report["models"]
    assert models["quantize"]["size_mb"] < models["train"]["size_mb"] / 2  # int8 weights
    assert models["train"]["test_accuracy"] > 0.6
    assert models["quantize"]["test_accuracy"] >= models["train"]["test_accuracy"] - 0.05
    x = torch.rand(4, 1, 8, 8)  # the copy runs alone, as the original: its weights travelled
    assert torch.equal(predictor(final)(x), predictor(quantized["path"])(x))
