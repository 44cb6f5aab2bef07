"""Run any model accel makes or opens, the same way everywhere: `predict(inputs) -> outputs`.

A torch module (eager, compiled or a loaded `torch.export` program) runs under `no_grad`; an
ONNX file runs in an ONNX Runtime CPU session with pinned intra-op threads. `inputs` is one
tensor or a tuple of them (models with several inputs); the output is the model's main tensor
(the first of a tuple, list or dict). `accel compress`, `accel pipeline` and the tests share
this one runner, so an accuracy or a parity figure never depends on which command measured it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

Inputs = torch.Tensor | tuple[torch.Tensor, ...]
Predict = Callable[[Inputs], torch.Tensor]
ORT_PACKAGE = "onnxruntime"


def as_tuple(inputs: Inputs) -> tuple[torch.Tensor, ...]:
    return inputs if isinstance(inputs, tuple) else (inputs,)


def first_tensor(output: Any) -> torch.Tensor:
    """The main output of a model that may return a tuple, list or dict."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, dict) and output:
        return first_tensor(next(iter(output.values())))
    if isinstance(output, list | tuple) and output:
        return first_tensor(output[0])
    raise TypeError(f"model returned a {type(output).__name__}, expected tensors")


def torch_predictor(module: Any) -> Predict:
    """`module` as a tensor function (no autograd graph is kept)."""
    if not callable(module):
        raise TypeError(f"cannot run a {type(module).__name__}: expected a model")

    def run(inputs: Inputs) -> torch.Tensor:
        with torch.no_grad():
            return first_tensor(module(*as_tuple(inputs)))

    return run


def onnx_predictor(
    path: str | os.PathLike[str], *, threads: int | None = None, package: str = ORT_PACKAGE
) -> Predict:
    """An ONNX Runtime CPU session on `path` as a tensor function; inputs bind by position.

    `package` is what a missing ONNX Runtime tells the user to install (a package's extra)."""
    from accel.core.optional import require

    ort = require("onnxruntime", package, "running an ONNX model")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(inputs: Inputs) -> torch.Tensor:
        tensors = as_tuple(inputs)
        if len(tensors) != len(names):
            raise ValueError(f"{path} takes {len(names)} inputs ({names}), got {len(tensors)}")
        feed = {name: to_numpy(t) for name, t in zip(names, tensors, strict=True)}
        return torch.from_numpy(session.run(None, feed)[0])

    return run


def to_numpy(tensor: torch.Tensor) -> Any:
    """A CPU array for ONNX Runtime: floating point as float32 (what exported graphs take),
    integer and boolean inputs (token ids, masks) as they are."""
    tensor = tensor.detach().cpu()
    return (tensor.float() if tensor.is_floating_point() else tensor).numpy()


def open_program(path: str | os.PathLike[str], *, trust: bool | None = None) -> Any:
    """A `.pt2` program's module, opened by the checked loader (no pickle runs unless the file
    is trusted), with the int8 ops a PT2E program refers to registered first (they live in a
    module torch does not import by itself)."""
    import torch.ao.quantization.fx._decomposed  # noqa: F401 - registers quantized_decomposed ops

    from accel.core.export_archive import load_exported_program

    return load_exported_program(path, trust=trust)


def predictor(model: Any, *, threads: int | None = None, trust: bool | None = None) -> Predict:
    """How to run `model`: a torch module, or the path of an `.onnx` or `.pt2` file."""
    if isinstance(model, str | os.PathLike):
        path = Path(model)
        if path.suffix == ".onnx":
            return onnx_predictor(path, threads=threads)
        if path.suffix == ".pt2":
            return torch_predictor(open_program(path, trust=trust).module())
        raise ValueError(f"{path}: expected an .onnx or .pt2 file, or a torch module")
    return torch_predictor(model)
