"""The runners behind a served model: an OpenVINO IR (what `accel compress` writes when
OpenVINO's int8 is the fastest) opened as a file and from a compress folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
import torch
from serve_helpers import Masked, Small, export

from accel.serve.errors import ModelLoadError
from accel.serve.loading import model_kind, open_model


def ir_of(model: torch.nn.Module, example: tuple[torch.Tensor, ...], folder: Path,
          names: list[str]) -> Path:  # fmt: skip
    """`model` as an OpenVINO IR, through ONNX as accel compress makes one."""
    onnx_file = export(model, example, folder / "source" / "model.onnx", names)
    xml = folder / "model.xml"
    ov.save_model(ov.convert_model(str(onnx_file)), str(xml), compress_to_fp16=False)
    return xml


def test_an_openvino_ir_is_served_with_its_dynamic_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Small().eval()
    xml = ir_of(model, (torch.randn(2, 4),), tmp_path, ["features"])
    assert model_kind(xml) == "openvino"
    loaded = open_model(xml, threads=1)
    assert loaded.runner.platform == "openvino"
    (spec,) = loaded.runner.inputs
    assert (spec.name, spec.shape, spec.datatype) == ("features", (None, 4), "FP32")
    assert [o.name for o in loaded.runner.outputs] == ["output"]
    for rows in (1, 5):
        x = np.random.default_rng(rows).random((rows, 4), dtype=np.float32)
        out = loaded.runner.run({"features": x})["output"]
        np.testing.assert_allclose(out, model(torch.from_numpy(x)).detach().numpy(), atol=1e-5)


def test_a_compress_folder_naming_an_ir_opens_it_with_integer_inputs(tmp_path: Path) -> None:
    model = Masked().eval()
    example = (torch.randn(2, 3), torch.ones(2, 3, dtype=torch.int64))
    ir_of(model, example, tmp_path, ["x", "mask"])
    report = {"outputs": {"openvino": "model.xml"}}
    (tmp_path / "report.json").write_text(json.dumps(report))
    loaded = open_model(tmp_path, threads=1)
    assert loaded.kind == "compress"
    assert [(s.name, s.datatype) for s in loaded.runner.inputs] == [
        ("x", "FP32"),
        ("mask", "INT64"),
    ]
    x = np.random.default_rng(0).random((4, 3), dtype=np.float32)
    mask = np.array([[1, 0, 1]] * 4, dtype=np.int64)
    out = loaded.runner.run({"x": x, "mask": mask})["output"]
    want = model(torch.from_numpy(x), torch.from_numpy(mask)).detach().numpy()
    np.testing.assert_allclose(out, want, atol=1e-5)


def test_an_ir_that_is_not_one_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "model.xml").write_text("<net><layers></layers>")
    with pytest.raises(ModelLoadError, match="is not a model OpenVINO can load"):
        open_model(tmp_path / "model.xml", threads=1)
