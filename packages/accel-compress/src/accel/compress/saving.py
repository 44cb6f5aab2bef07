"""Write the final artifact portably: ONNX / torch.export files, pruned weights + channel spec,
and the input columns of a model fed named columns (`columns.json`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from torch import nn

from accel.compress.artifacts import ExportedModel, OnnxModel, OpenVinoModel
from accel.core.passes import PassContext

COLUMNS_FILE = "columns.json"


def save_artifact(
    artifact: Any, folder: Path, context: PassContext, pruned: nn.Module | None
) -> dict[str, Any]:
    """Copy or export the final artifact into `folder`; returns {kind: file name}.

    `pruned` (the last torch module after pruning) is also saved as weights + channel spec,
    which re-apply to the original architecture.
    """
    from accel.compress.spec import save_pruned

    outputs: dict[str, Any] = {}
    if pruned is not None:
        save_pruned(
            getattr(pruned, "_orig_mod", pruned), folder / "pruned", context.options.get("arch")
        )
        outputs["pruned"] = "pruned"
    if isinstance(artifact, OnnxModel):
        outputs["onnx"] = copy_onnx(artifact, folder / "model.onnx")
    elif isinstance(artifact, OpenVinoModel):
        outputs["openvino"] = copy_openvino(artifact, folder / "model.xml")
    elif isinstance(artifact, ExportedModel):
        shutil.copyfile(artifact.path, folder / "model.pt2")
        outputs["pt2"] = "model.pt2"
    elif isinstance(artifact, nn.Module):
        outputs.update(save_module(artifact, folder, context))
    return outputs


def copy_onnx(model: OnnxModel, target: Path) -> str:
    """Copy the ONNX file and its external-data files (their names are kept)."""
    shutil.copyfile(model.path, target)
    for extra in model.files()[1:]:
        shutil.copyfile(extra, target.parent / extra.name)
    return target.name


def copy_openvino(model: OpenVinoModel, target: Path) -> str:
    """Copy the IR's `.xml` and `.bin` (OpenVINO finds the weights by the graph's name)."""
    for source, copy in zip(model.files(), (target, target.with_suffix(".bin")), strict=True):
        shutil.copyfile(source, copy)
    return target.name


def save_module(model: nn.Module, folder: Path, context: PassContext) -> dict[str, Any]:
    """A torch result as a `torch.export` program (a compiled module: its inner module)."""
    from accel.compress.passes.export import export_program

    outputs: dict[str, Any] = {}
    plain = getattr(model, "_orig_mod", model)  # a torch.compile wrapper holds the module
    try:
        signature = context.options.get("signature")
        export_program(plain, context.example_inputs, folder / "model.pt2", signature)
        outputs["pt2"] = "model.pt2"
    except Exception as error:  # report the format that could not be written, keep the rest
        outputs["pt2_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return outputs


def save_input_columns(model: Any, folder: Path) -> dict[str, str]:
    """`columns.json` when the original model describes its input columns
    (`accel.core.protocols.RecordModel`, e.g. an accel-tabular MLP): what turns JSON rows
    into the exported model's input (`accel.core.records`), so `accel serve` encodes rows as
    training did. Returns `{"columns": file name}`, or nothing for other models."""
    from accel.compress.atomic import write_json
    from accel.core.protocols import input_columns_of

    columns = input_columns_of(model)
    if columns is None:
        return {}
    write_json(folder / COLUMNS_FILE, columns)
    return {"columns": COLUMNS_FILE}
