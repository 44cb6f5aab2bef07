"""The files one model file consists of, so that whoever copies, sizes or logs a model moves
all of it: an ONNX model and the `<name>.data` its external weights sit in (the name accel's
exporters give them), an OpenVINO IR (`.xml`) and the `.bin` of the same stem."""

from __future__ import annotations

from pathlib import Path


def companions(path: str | Path) -> list[Path]:
    """The files besides `path` that belong to the model it names, those that exist."""
    path = Path(path)
    if path.suffix == ".xml":
        found = [path.with_suffix(".bin")]
    else:
        found = [path.with_name(f"{path.name}.data")]
    return [p for p in found if p.is_file()]


def model_files(path: str | Path) -> list[Path]:
    """`path` and its companions."""
    return [Path(path), *companions(path)]
