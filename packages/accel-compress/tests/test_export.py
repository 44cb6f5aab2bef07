"""ONNX (dynamic batch, checker) and torch.export programs, run in fresh runtimes."""

from __future__ import annotations

from pathlib import Path

import onnx
import onnxruntime as ort
import pytest
import torch
from compress_models import TinyResNet

from accel.compress.artifacts import ExportedModel, OnnxModel
from accel.compress.passes.export import Export
from accel.core.errors import ConfigError
from accel.core.passes import PassContext


@pytest.fixture
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return TinyResNet().eval()


def test_onnx_has_a_dynamic_batch_and_passes_the_checker(model, tmp_path: Path) -> None:
    context = PassContext(example_inputs=torch.randn(1, 1, 8, 8), output_dir=tmp_path)
    result = Export("onnx")(model, context)
    assert isinstance(result, OnnxModel)
    assert result.path == tmp_path / "model.onnx"
    onnx.checker.check_model(str(result.path), full_check=True)
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = torch.randn(batch, 1, 8, 8)
        out = torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
        assert torch.allclose(out, model(x), atol=1e-4)
    assert context.reports[-1].metrics["output_error"] < 1e-5


def test_torch_export_program_loads_and_runs_other_batches(model, tmp_path: Path) -> None:
    context = PassContext(example_inputs=torch.randn(2, 1, 8, 8), output_dir=tmp_path)
    result = Export("pt2")(model, context)
    assert isinstance(result, ExportedModel)
    loaded = torch.export.load(str(result.path)).module()
    x = torch.randn(7, 1, 8, 8)
    assert torch.allclose(loaded(x), model(x), atol=1e-5)


def test_an_onnx_artifact_is_not_exported_again(tmp_path: Path) -> None:
    context = PassContext()
    given = OnnxModel(tmp_path / "m.onnx")
    assert Export()(given, context) is given
    assert context.reports[-1].status == "skipped"


def test_unknown_format() -> None:
    with pytest.raises(ConfigError, match="format 'tflite' is not one of onnx, pt2"):
        Export("tflite")


def test_export_without_example_inputs_asks_for_the_shape(model, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pass --input-shape"):
        Export()(model, PassContext(output_dir=tmp_path))


def test_export_without_output_dir(model) -> None:
    with pytest.raises(ConfigError, match=r"set PassContext\.output_dir"):
        Export()(model, PassContext(example_inputs=torch.randn(2, 1, 8, 8)))


def test_a_loaded_export_program_goes_to_onnx_too(model, tmp_path: Path) -> None:
    x = torch.randn(2, 1, 8, 8)
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(tmp_path / "m.pt2"))
    loaded = torch.export.load(str(tmp_path / "m.pt2")).module()
    context = PassContext(example_inputs=x, output_dir=tmp_path / "out")
    result = Export("onnx")(loaded, context)
    assert [p.name for p in result.files()] == ["model.onnx"]  # weights embedded, one file
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x5 = torch.randn(5, 1, 8, 8)
    out = torch.from_numpy(session.run(None, {name: x5.numpy()})[0])
    assert torch.allclose(out, model(x5), atol=1e-4)


def test_a_loaded_export_program_cannot_be_pruned(model, tmp_path: Path) -> None:
    from accel.compress.passes.prune import Prune

    x = torch.randn(2, 1, 8, 8)
    torch.export.save(torch.export.export(model, (x,)), str(tmp_path / "m.pt2"))
    loaded = torch.export.load(str(tmp_path / "m.pt2")).module()
    with pytest.raises(ConfigError, match="needs the model's own Python class"):
        Prune(0.5)(loaded, PassContext(example_inputs=x))
