"""What a step hands the next: a record `{format, path}` and how to open it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accel.core.errors import ConfigError
from accel.core.outputs import MARKER as OWNER_MARKER

FILE_FORMATS = {".onnx": "onnx", ".pt2": "pt2", ".xml": "openvino"}
FORMATS = ("checkpoint", "module", *FILE_FORMATS.values())  # every format a step may leave


def describe(artifact: Any, step_dir: Path, spec: Any) -> dict[str, Any]:
    """Save a torch model in accel's pruned-model format (the folder `accel compress` writes
    and opens: weights + channel spec naming the architecture `spec`); record a file artifact
    (ONNX, pt2, OpenVINO IR) as is."""
    from torch import nn

    from accel.core.pruned import save_pruned

    if isinstance(artifact, nn.Module):
        path = save_pruned(getattr(artifact, "_orig_mod", artifact), step_dir / "model", spec)
        return {"format": "module", "path": str(path), "spec": spec}
    file = getattr(artifact, "path", None)
    if file is not None and Path(file).suffix in FILE_FORMATS:
        return {"format": FILE_FORMATS[Path(file).suffix], "path": str(file), "spec": spec}
    raise ConfigError(
        f"a pass returned a {type(artifact).__name__}: a pipeline step must end with a torch "
        "model or a file (ONNX, pt2, OpenVINO IR)"
    )


def open_module(record: dict[str, Any], step: str) -> Any:
    """The torch model a record points at; file artifacts cannot go back to torch."""
    if record["format"] == "checkpoint":
        from accel.core.checkpoint import rebuild_model

        return rebuild_model(record["path"])
    if record["format"] == "module":
        from accel.core.pruned import load_pruned

        return load_pruned(record["path"])
    raise ConfigError(
        f"pipeline step '{step}' needs a torch model but the previous step left a file "
        f"({record['format']}: {record['path']}): put it before the step that exports"
    )


def files_of(record: dict[str, Any]) -> list[Path]:
    """Every file an artifact consists of (ONNX external data, an IR's weights included)."""
    from accel.core.model_files import model_files

    path = Path(record["path"])
    if path.is_dir():
        return [p for p in path.rglob("*") if p.is_file() and p.name != OWNER_MARKER]
    return model_files(path)


def size_mb(record: dict[str, Any]) -> float:
    """MB of an artifact by accel-core's one size measure: a checkpoint's weights (what a
    file of them holds; it also stores optimizer state), else its files."""
    from accel.core.analysis import file_bytes, state_bytes

    if record["format"] == "checkpoint":
        return round(state_bytes(open_module(record, "size")) / 2**20, 4)
    return round(file_bytes(files_of(record)) / 2**20, 4)
