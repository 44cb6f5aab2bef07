"""What passes hand each other besides a torch module: model files, and how to run any of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn


@dataclass
class OnnxModel:
    """An ONNX file (weights may sit beside it in `<file>.data`)."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    def files(self) -> list[Path]:
        """The `.onnx` and every external-data file next to it that it names."""
        return [self.path, *external_data_files(self.path)]


@dataclass
class ExportedModel:
    """A `torch.export` program saved as a `.pt2` file."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    def files(self) -> list[Path]:
        return [self.path]


@dataclass
class OpenVinoModel:
    """An OpenVINO IR: the `.xml` graph and its weights in the `.bin` of the same name."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    def files(self) -> list[Path]:
        return [self.path, self.path.with_suffix(".bin")]


Artifact = nn.Module | OnnxModel | ExportedModel | OpenVinoModel


def external_data_files(path: Path) -> list[Path]:
    """External-data files an ONNX model refers to (without loading its weights)."""
    from accel.compress.extras import package
    from accel.core.optional import require

    onnx = require("onnx", package("ort"), "reading an ONNX model")
    model = onnx.load(str(path), load_external_data=False)
    names = {
        entry.value
        for tensor in model.graph.initializer
        for entry in tensor.external_data
        if entry.key == "location"
    }
    return [external_file(path, name) for name in sorted(names)]


def external_file(path: Path, name: str) -> Path:
    """Where external data `name` of ONNX file `path` lives: inside the file's folder only (a
    crafted model naming `../../.ssh/id_rsa` would otherwise be copied into the output)."""
    from accel.core.errors import ConfigError
    from accel.core.names import check_inside
    from accel.core.trust import UntrustedFileError

    try:
        check_inside(path.parent / name, path.parent, "location")
    except ConfigError:
        raise UntrustedFileError(
            f"{path} names external data {name!r} outside its folder: refused (an ONNX file "
            "keeps its weights beside it)"
        ) from None
    return path.parent / name


def is_torch(artifact: Any) -> bool:
    return isinstance(artifact, nn.Module)


def is_program_module(model: Any) -> bool:
    """True for the module of a loaded `torch.export` program (it refuses `.eval()`), also one
    exported with keyword inputs (accel-core's `KeywordProgram`)."""
    from torch.export._unlift import _StatefulGraphModule

    from accel.core.program_module import is_keyword_program

    return isinstance(model, _StatefulGraphModule) or is_keyword_program(model)


def load_program(path: Path, *, trust: bool | None = None) -> Any:
    """A `torch.export` program, opened by accel-core's checked loader (PT2E ops registered)."""
    from accel.core.inference import open_program

    return open_program(path, trust=trust)


def set_eval(model: nn.Module) -> nn.Module:
    """`model.eval()`, except for graphs that are inference-only already and refuse it: a
    loaded exported program, or a PT2E-converted one (NotImplementedError from `.eval()`)."""
    if is_program_module(model):
        return model
    try:
        return model.eval()
    except NotImplementedError:
        return model


class Runner:
    """Runs an artifact on a batch of inputs: `runner(x) -> y` (tensors in, tensors out),
    through accel-core's one runner (`accel.core.inference`). Several inputs come as one tuple
    or as separate arguments (`runner(ids, mask)`: how accel-core's timers call it)."""

    def __init__(self, artifact: Any, threads: int | None = None) -> None:
        self.artifact = artifact
        self.threads = threads or torch.get_num_threads()
        self._call = self._make()

    def __call__(self, *inputs: Any) -> torch.Tensor:
        return self._call(inputs[0] if len(inputs) == 1 else tuple(inputs))

    def _make(self) -> Any:
        from accel.compress.extras import package
        from accel.core.inference import onnx_predictor, torch_predictor
        from accel.core.program_module import program_module

        if isinstance(self.artifact, OnnxModel):
            ort = package("ort")  # what a missing ONNX Runtime says to install
            return onnx_predictor(self.artifact.path, threads=self.threads, package=ort)
        if isinstance(self.artifact, OpenVinoModel):
            from accel.core.inference import OpenVinoPredictor

            ov = package("openvino")
            return OpenVinoPredictor(self.artifact.path, threads=self.threads, package=ov)
        if isinstance(self.artifact, ExportedModel):
            return torch_predictor(program_module(load_program(self.artifact.path)))
        return torch_predictor(self.artifact)
