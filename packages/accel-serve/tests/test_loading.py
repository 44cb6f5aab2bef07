"""Opening what the other packages write: .pt2 programs and accel checkpoints (no pickle)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from serve_helpers import Small

from accel.core.checkpoint import save_checkpoint
from accel.core.registry import registry
from accel.serve.errors import ModelLoadError
from accel.serve.loading import model_kind, open_model


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


def test_a_pt2_program_exported_with_keyword_inputs_is_served(tmp_path: Path) -> None:
    """`torch.export.export(model, (), {"x": ...})` (how Hugging Face models are exported): its
    module refuses positional inputs, which is how the runner feeds it."""
    model = Small().eval()
    batch = torch.export.Dim("batch", min=1, max=1024)
    x = torch.randn(2, 4)
    program = torch.export.export(model, (), {"x": x}, dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, str(tmp_path / "model.pt2"))
    loaded = open_model(tmp_path / "model.pt2", threads=1)
    (spec,) = loaded.runner.inputs
    assert (spec.name, spec.shape) == ("x", (None, 4))
    rows = np.random.default_rng(1).random((3, 4), dtype=np.float32)
    out = loaded.runner.run({"x": rows})["output"]
    np.testing.assert_allclose(out, model(torch.from_numpy(rows)).detach().numpy(), rtol=1e-5)


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


class TinyImages:
    """A data module as a checkpoint's `config.data` names it: its image size, classes and
    evaluation transform (accel-core's normalize) come from the stored config."""

    def __init__(self, image_size: int, mean: list[float], std: list[float]) -> None:
        from accel.core.transforms import Normalize

        self.input_shape = (1, image_size, image_size)
        self.classes = ["a", "b", "c"]
        self.eval_transform = Normalize(mean, std)

    def loader(self) -> list[Any]:
        return []  # serving reads no data; the DataModule protocol wants the loaders

    train_dataloader = val_dataloader = test_dataloader = loader


class Pixels(torch.nn.Module):
    """(N, 1, 4, 4) -> (N, 3): a model whose training data was normalized."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


def test_a_checkpoints_data_config_gives_predict_its_size_and_normalization(
    tmp_path: Path,
) -> None:
    from PIL import Image

    from accel.serve.preprocessing import decode_image

    data = {"name": "serve_test_images", "image_size": 4, "mean": [0.5], "std": [0.25]}
    config = {"model": {"name": "serve_test_pixels"}, "data": data}
    save_checkpoint(tmp_path, "best", {"model": Pixels().state_dict()}, config=config)
    with (
        registry("models").registered("serve_test_pixels", Pixels),
        registry("datasets").registered("serve_test_images", TinyImages),
    ):
        loaded = open_model(tmp_path / "best", threads=1)
    prep = loaded.preprocessing
    assert (prep.kind, prep.channels, prep.height, prep.width) == ("image", 1, 4, 4)
    assert prep.labels == ("a", "b", "c")
    white = io.BytesIO()
    Image.fromarray(np.full((9, 9), 255, np.uint8)).save(white, "PNG")
    batch = decode_image(prep, white.getvalue(), max_pixels=1000)
    np.testing.assert_allclose(batch, np.full((1, 1, 4, 4), (1.0 - 0.5) / 0.25, np.float32))
