"""Fixtures: the test models on disk and the servers the tests share (started once)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))  # the tests import serve_helpers

from serve_helpers import (
    CLASSES,
    FEATURES,
    TOKEN,
    Masked,
    Server,
    TinyDigits,
    constant_model,
    export,
    start_server,
)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """digits/ (an accel compress-style folder), tabular/, v1/, v2/ and masked/."""
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    digits = root / "digits"
    export(TinyDigits(), (torch.rand(2, 1, 8, 8),), digits / "model.onnx", ["x"])
    report = {
        "model": "tiny",
        "inputs": {"source": "test", "inputs": [{"name": "x", "dtype": "float32",
                                                 "shape": ["batch", 1, 8, 8]}]},
        "outputs": {"onnx": "model.onnx"},
    }  # fmt: skip
    (digits / "report.json").write_text(json.dumps(report))
    (digits / "preprocessing.json").write_text(json.dumps({"labels": CLASSES}))
    mlp = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    tabular = export(mlp, (torch.randn(2, 4),), root / "tabular" / "model.onnx", ["features"])
    card = {"features": FEATURES, "labels": ["low", "mid", "high"]}
    (tabular.parent / "preprocessing.json").write_text(json.dumps(card))
    export(constant_model(5.0), (torch.randn(2, 4),), root / "v1" / "model.onnx", ["x"])
    export(constant_model(7.0), (torch.randn(2, 4),), root / "v2" / "model.onnx", ["x"])
    example = (torch.randn(2, 3), torch.ones(2, 3, dtype=torch.int64))
    export(Masked(), example, root / "masked" / "model.onnx", ["x", "mask"])
    return root


@pytest.fixture(scope="session")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server with every test model, a token, and a v1/v2 split of model `ab`."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    args = [
        str(model_dir / "digits"),
        f"tabular={model_dir / 'tabular'}",
        f"masked={model_dir / 'masked' / 'model.onnx'}",
        "--max-batch", "32", "--max-wait-ms", "2", "--max-image-pixels", "1000000",
    ]  # fmt: skip
    running = start_server(args, log, token=TOKEN)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def split_server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("split") / "server.log"
    args = [
        f"v1={model_dir / 'v1'}", f"v2={model_dir / 'v2'}",
        "--name", "ab", "--split", "v1=0.9,v2=0.1", "--no-access-log",
    ]  # fmt: skip
    running = start_server(args, log)
    yield running
    running.stop()
