"""The library API end to end on the trained digits model, with real ORT sessions."""

from __future__ import annotations

from pathlib import Path

import onnx
import onnxruntime as ort
import torch
from torch import nn

from accel.compress import OnnxModel, analyze, compress, export_onnx, prune, quantize
from accel.compress.verify import accuracy


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
    assert isinstance(final, OnnxModel)
    assert final.path == tmp_path / "out" / "model.onnx"
    session = ort.InferenceSession(str(final.path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": digits.x_test.numpy()})[0]
    fresh = float((torch.from_numpy(logits).argmax(1) == digits.y_test).float().mean())
    assert baseline - fresh <= 0.015
    ops = {n.op_type for n in onnx.load(str(final.path)).graph.node}
    assert "QuantizeLinear" in ops  # the int8 step was kept
    prune_step = next(s for s in result.report["steps"] if s["name"] == "prune")
    assert prune_step["metrics"]["params_after"] < 0.4 * prune_step["metrics"]["params_before"]
    assert {"report.json", "report.md", "report.png", "recipe.json", "model.onnx", "pruned"} <= {
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
