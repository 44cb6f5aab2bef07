"""`export`: a torch model to ONNX (dynamic batch, checked) or to a `torch.export` program."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.compress.analysis import batch_of
from accel.compress.artifacts import ExportedModel, OnnxModel, is_program_module, set_eval
from accel.compress.atomic import atomic_path
from accel.compress.extras import ONNX, need
from accel.compress.passes.parity import record_parity
from accel.core.errors import ConfigError
from accel.core.passes import PassContext

FORMATS = ("onnx", "pt2")


class Export:
    """Write the model as `model.onnx` (opset `opset`, dynamic batch) or `model.pt2`."""

    timed = False  # changes format or weights, not speed: never dropped as slower

    def __init__(
        self, format: str = "onnx", *, opset: int = 18, filename: str | None = None
    ) -> None:
        if format not in FORMATS:
            raise ConfigError(f"export: format {format!r} is not one of {', '.join(FORMATS)}")
        if format == "onnx":
            need("ort", ONNX)
        self.format, self.opset, self.filename = format, opset, filename

    def __call__(self, model: Any, context: PassContext) -> Any:
        if isinstance(model, OnnxModel | ExportedModel):
            report = context.record("export", "skipped")
            report.notes.append(f"already a {type(model).__name__}: nothing to export")
            return model
        if not isinstance(model, nn.Module):
            raise ConfigError(f"export works on a torch model, got {type(model).__name__}")
        if context.example_inputs is None:
            raise ConfigError("export needs example inputs: pass --input-shape N,C,H,W")
        path = context.workdir() / (self.filename or f"model.{self.format}")
        example = batch_of(context.example_inputs, max(2, len(context.example_inputs)))
        if self.format == "onnx":
            result: Any = OnnxModel(export_onnx(model, example, path, self.opset))
        else:
            result = ExportedModel(export_program(model, example, path))
        report = context.record("export", format=self.format, path=str(path))
        record_parity(report, model, result, context, None)
        return result


def export_onnx(model: nn.Module, example: torch.Tensor, path: Path, opset: int = 18) -> Path:
    """ONNX with a dynamic batch axis, checked with `onnx.checker` (full check); one file."""
    if is_program_module(model):
        return export_onnx_dynamo(model, example, path)
    import onnx

    model = model.eval()
    with atomic_path(path) as temp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(temp),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
        onnx.checker.check_model(str(temp), full_check=True)
    return path


def export_onnx_dynamo(model: nn.Module, example: torch.Tensor, path: Path) -> Path:
    """ONNX of a loaded `torch.export` program's module (the legacy exporter refuses those):
    re-exported with a dynamic batch, then written as one file (weights embedded)."""
    import onnx

    example = batch_of(example, max(2, len(example)))
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draft = Path(folder) / "model.onnx"
        quiet_onnx_logs()
        torch.onnx.export(program, f=str(draft), dynamo=True, opset_version=18, verbose=False)
        proto = onnx.load(str(draft))  # pulls in the external .data weights
        with atomic_path(path) as temp:
            onnx.save_model(proto, str(temp))
            onnx.checker.check_model(str(temp), full_check=True)
    return path


def quiet_onnx_logs() -> None:
    """The dynamo exporter logs a warning per missing torchvision op: not our user's concern."""
    import logging

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)


def export_program(model: nn.Module, example: torch.Tensor, path: Path) -> Path:
    """A `torch.export` program with a dynamic batch dimension (exported at batch >= 2)."""
    example = batch_of(example, max(2, len(example)))
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(set_eval(model), (example,), dynamic_shapes=({0: batch},))
    with atomic_path(path) as temp:
        torch.export.save(program, str(temp))
    return path
