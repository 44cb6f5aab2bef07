"""Accuracy of any artifact (torch model or ONNX/pt2/OpenVINO file) on the test split, the
same way for all: through accel-core's one runner, as `accel compress` runs them."""

from __future__ import annotations

from typing import Any

from accel.core.errors import ConfigError


def accuracy(record: dict[str, Any], loader: Any, step: str) -> float:
    """Top-1 accuracy (a fraction) of the artifact `record` over `(inputs, targets)` batches."""
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
    from accel.cli.pipeline.artifacts import FILE_FORMATS
    from accel.core.inference import predictor

    if record["format"] in FILE_FORMATS.values():
        return predictor(record["path"])  # a .pt2 through the checked loader: nothing unpickled
    from accel.cli.pipeline.artifacts import open_module

    return predictor(open_module(record, step).eval())
