"""Accuracy of any artifact (torch model or ONNX file) on the test split, the same way for all."""

from __future__ import annotations

from typing import Any

from accel.core.errors import ConfigError


def accuracy(record: dict[str, Any], loader: Any, step: str) -> float:
    """Top-1 accuracy of the artifact `record` over `loader`'s `(inputs, targets)` batches."""
    predict = _predictor(record, step)
    correct = total = 0
    for inputs, targets in loader:
        predicted = predict(inputs).argmax(dim=1)
        correct += int((predicted == targets).sum())
        total += len(targets)
    if total == 0:
        raise ConfigError(f"pipeline step '{step}': the test loader is empty")
    return correct / total


def _predictor(record: dict[str, Any], step: str) -> Any:
    import torch

    if record["format"] == "onnx":
        return _onnx_predictor(record["path"])
    if record["format"] == "pt2":
        from accel.core.export_archive import load_exported_program

        program = load_exported_program(record["path"]).module()  # checked: nothing unpickled
        return lambda x: program(x)
    from accel.cli.pipeline.artifacts import open_module

    model = open_module(record, step).eval()

    def run(x: Any) -> Any:
        with torch.no_grad():
            return model(x)

    return run


def _onnx_predictor(path: str) -> Any:
    import torch

    from accel.core.optional import require

    ort = require("onnxruntime", "onnxruntime", "evaluating an ONNX model")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: Any) -> Any:
        return torch.from_numpy(session.run(None, {name: x.numpy()})[0])

    return run
