"""Opening what the other packages write: .pt2 programs and accel checkpoints (no pickle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from accel.core.checkpoint import save_checkpoint
from accel.core.registry import registry
from accel.serve.errors import ModelLoadError
from accel.serve.loading import model_kind, open_model


class Small(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def test_a_pt2_program_keeps_its_dynamic_batch(tmp_path: Path) -> None:
    model = Small().eval()
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(model, (torch.randn(2, 4),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(tmp_path / "model.pt2"))
    loaded = open_model(tmp_path / "model.pt2", threads=1)
    (spec,) = loaded.runner.inputs
    assert spec.shape == (None, 4)
    assert spec.datatype == "FP32"
    assert loaded.preprocessing.kind == "tabular"
    x = np.random.default_rng(0).random((3, 4), dtype=np.float32)
    out = loaded.runner.run({spec.name: x})["output"]
    np.testing.assert_allclose(out, model(torch.from_numpy(x)).detach().numpy(), rtol=1e-5)


def test_a_checkpoint_is_rebuilt_through_the_registry(tmp_path: Path) -> None:
    model = Small()
    config = {"model": {"name": "serve_test_small"}}
    save_checkpoint(tmp_path, "last-epoch", {"model": model.state_dict()}, config=config)
    with registry("models").registered("serve_test_small", Small):
        loaded = open_model(tmp_path / "last-epoch", threads=1, input_shape=(4,))
        assert model_kind(tmp_path / "last-epoch") == "checkpoint"
    x = np.ones((2, 4), np.float32)
    out = loaded.runner.run({"input": x})["output"]
    np.testing.assert_allclose(out, model(torch.from_numpy(x)).detach().numpy(), rtol=1e-5)


def test_a_checkpoint_naming_code_is_refused(tmp_path: Path) -> None:
    config = {"model": {"_target_": "os.system", "command": "echo hi"}}
    save_checkpoint(tmp_path, "bad", {"model": Small().state_dict()}, config=config)
    with pytest.raises(Exception, match="names code to import and call"):
        open_model(tmp_path / "bad", threads=1, input_shape=(4,))


def test_a_compress_report_naming_a_file_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text('{"outputs": {"onnx": "../model.onnx"}}')
    with pytest.raises(ModelLoadError, match=r"outputs.onnx = '../model.onnx' is not a file here"):
        open_model(tmp_path, threads=1)
