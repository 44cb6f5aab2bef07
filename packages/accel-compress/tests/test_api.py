"""The library API end to end on the trained digits model, with real ORT sessions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from accel.compress import (
    OnnxModel,
    OpenVinoModel,
    analyze,
    compress,
    export_onnx,
    prune,
    quantize,
)
from accel.compress.verify import accuracy


def fresh_session_logits(path: Path, x: np.ndarray) -> np.ndarray:
    """`path` run by a new ONNX Runtime session, or for an IR a new OpenVINO core."""
    if path.suffix == ".xml":
        import openvino as ov

        compiled = ov.Core().compile_model(str(path), "CPU")
        return np.asarray(compiled(x)[compiled.output(0)])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def int8_points(path: Path) -> int:
    """Quantization points in the written model: QDQ nodes in ONNX, FakeQuantize in an IR."""
    if path.suffix == ".xml":
        import openvino as ov

        ops = ov.Core().read_model(str(path)).get_ops()
        return sum(op.get_type_name() == "FakeQuantize" for op in ops)
    return sum(n.op_type == "QuantizeLinear" for n in onnx.load(str(path)).graph.node)


def test_int8_via_ort_keeps_accuracy_within_half_a_point(
    resnet: nn.Module, digits, tmp_path: Path
) -> None:
    baseline = accuracy(resnet, digits.test)
    result = quantize(resnet, digits.calib, output_dir=tmp_path)
    assert isinstance(result, OnnxModel)
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": digits.x_test.numpy()})[0]
    fresh = float((torch.from_numpy(logits).argmax(1) == digits.y_test).float().mean())
    assert baseline > 0.9  # a fraction, as accel-core's metrics give it
    assert baseline - fresh <= 0.005
    ops = {n.op_type for n in onnx.load(str(result.path)).graph.node}
    assert "QuantizeLinear" in ops
    assert "DequantizeLinear" in ops


def test_prune_half_finetune_int8_keeps_accuracy_within_1_5_points(
    resnet: nn.Module, digits, tmp_path: Path
) -> None:
    baseline = accuracy(resnet, digits.test)
    result = compress(
        resnet,
        digits.example,
        output_dir=tmp_path / "out",
        calib_data=digits.calib,
        train_data=digits.train,
        val_data=digits.test,
        quantize="int8",
        prune=0.5,
        finetune_epochs=6,
    )
    final = result.artifact
    written = tmp_path / "out" / ("model.xml" if isinstance(final, OpenVinoModel) else "model.onnx")
    assert final.path == written  # the int8 candidate accel chose (ONNX Runtime or OpenVINO)
    logits = fresh_session_logits(final.path, digits.x_test.numpy())
    fresh = float((torch.from_numpy(logits).argmax(1) == digits.y_test).float().mean())
    assert baseline - fresh <= 0.015
    quantize_step = next(s for s in result.report["steps"] if s["name"] == "quantize")
    if quantize_step["status"] == "dropped":  # measured slower than float: a timing verdict
        assert any("slower than before" in n for n in quantize_step["notes"])
    else:
        assert int8_points(final.path) > 0  # the int8 step was kept
    prune_step = next(s for s in result.report["steps"] if s["name"] == "prune")
    assert prune_step["metrics"]["params_after"] < 0.4 * prune_step["metrics"]["params_before"]
    assert {"report.json", "report.md", "report.png", "recipe.json", written.name, "pruned"} <= {
        p.name for p in (tmp_path / "out").iterdir()
    }


def test_prune_then_export_and_analyze(resnet: nn.Module, digits, tmp_path: Path) -> None:
    pruned = prune(resnet, digits.example, 0.5)
    before, after = (
        analyze(resnet, digits.example, repeats=3),
        analyze(pruned, digits.example, repeats=3),
    )
    assert after["params"] < before["params"]
    assert after["macs"] < before["macs"]
    onnx_model = export_onnx(pruned, digits.example, tmp_path / "pruned.onnx")
    run = ort.InferenceSession(str(onnx_model.path), providers=["CPUExecutionProvider"])
    x = digits.x_test[:5]
    assert torch.allclose(
        torch.from_numpy(run.run(None, {"input": x.numpy()})[0]), pruned(x), atol=1e-4
    )
