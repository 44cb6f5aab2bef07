"""`accel compress` end to end in the full workspace: the accel CLI finds the command through
the `accel.commands` entry point, models and datasets come from accel-cv through the registry."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from accel.core.checkpoint import save_checkpoint
from accel.core.registry import build

ACCEL = [sys.executable, "-m", "accel.cli"]


def accel(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ACCEL, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600
    )


class Boom:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.target}",))


def test_malicious_pickle_creates_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Boom(marker)))
    done = accel("compress", "evil.pt", "--quantize", "int8", cwd=tmp_path)
    assert done.returncode == 1
    assert "full pickle" in done.stderr
    assert "--unsafe-pickle" in done.stderr
    assert not marker.exists()
    assert not (tmp_path / "compressed").exists()


@pytest.mark.slow
def test_checkpoint_brings_its_model_and_data(tmp_path: Path) -> None:
    """A RepVGG checkpoint (accel-cv model, digits data from its config): merge branches,
    fold BN, int8 through ONNX Runtime, no data flags needed."""
    config = {
        "model": {"name": "repvgg", "in_channels": 1, "widths": [8, 16, 16, 32]},
        "data": {"name": "digits", "batch_size": 64},
    }
    model = build("models", config["model"]).eval()
    save_checkpoint(
        tmp_path / "checkpoints", "last-epoch", {"model": model.state_dict()}, config=config
    )
    done = accel(
        "compress",
        "checkpoints/last-epoch",
        "--merge-branches",
        "--fold-bn",
        "--quantize",
        "int8",
        "--force",
        "--repeats",
        "3",
        "-q",
        "-o",
        "out",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["merge_branches"]["metrics"]["merged"] >= 1
    assert steps["merge_branches"]["output_error"] < 1e-4
    assert report["final"]["name"] == "quantize"
    assert report["steps"][0]["accuracy"] is not None  # evaluated on the digits test split
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"))
    out = session.run(None, {"input": torch.rand(3, 1, 8, 8).numpy()})[0]
    assert out.shape == (3, 10)


@pytest.mark.slow
def test_trained_digits_checkpoint_to_int8_within_half_a_point(tmp_path: Path) -> None:
    """Train with accel-core's Trainer on accel-cv's digits, then `accel compress` the
    checkpoint with --max-drop 0.5: the gate passes and the int8 ONNX model is written."""
    from accel.core.runtime import Trainer

    config = {
        "model": {"name": "repvgg", "in_channels": 1, "widths": [16, 32, 32, 64]},
        "data": {"name": "digits", "batch_size": 32},
    }
    torch.manual_seed(0)
    model = build("models", config["model"])
    data = build("datasets", config["data"])
    trainer = Trainer(max_epochs=8, run_dir=tmp_path / "run", seed=0, default_callbacks=False)
    trainer.fit(
        model,
        data.train_dataloader(),
        optimizer=torch.optim.Adam(model.parameters(), lr=3e-3),
        loss=torch.nn.CrossEntropyLoss(),
    )
    save_checkpoint(
        tmp_path / "checkpoints", "trained", {"model": model.state_dict()}, config=config
    )
    done = accel(
        "compress",
        "checkpoints/trained",
        "--merge-branches",
        "--quantize",
        "int8",
        "--max-drop",
        "0.5",
        "--repeats",
        "3",
        "-q",
        "-o",
        "out",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    quantize = next(s for s in report["steps"] if s["name"] == "quantize")
    assert report["steps"][0]["accuracy"] > 0.9  # a fraction, as accel-core's metrics
    assert report["steps"][0]["accuracy"] - quantize["accuracy"] <= 0.005
    assert (tmp_path / "out" / "model.onnx").is_file()
