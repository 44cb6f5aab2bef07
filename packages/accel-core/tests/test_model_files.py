"""The files one model file consists of: ONNX external data, an OpenVINO IR's weights."""

from __future__ import annotations

from pathlib import Path

from accel.core.model_files import companions, model_files


def test_an_onnx_models_external_data_belongs_to_it(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"graph")
    assert model_files(tmp_path / "m.onnx") == [tmp_path / "m.onnx"]
    (tmp_path / "m.onnx.data").write_bytes(b"weights")
    (tmp_path / "other.onnx.data").write_bytes(b"someone else's")
    assert model_files(tmp_path / "m.onnx") == [tmp_path / "m.onnx", tmp_path / "m.onnx.data"]


def test_an_openvino_ir_brings_its_bin_and_nothing_else(tmp_path: Path) -> None:
    for name in ("model.xml", "model.bin", "model.xml.data", "model.onnx"):
        (tmp_path / name).write_bytes(b"x")
    assert companions(tmp_path / "model.xml") == [tmp_path / "model.bin"]
    assert companions(tmp_path / "model.pt2") == []
