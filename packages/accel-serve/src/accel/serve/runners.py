"""Run a served model on a batch: `run({input name: array}) -> {output name: array}`.

ONNX files run in one ONNX Runtime session per model (accel-core's `onnx_session`) with pinned
intra-op threads, sequential execution and no spinning: the server is one process and its
batcher calls `run` from one thread, so the session owns the CPU threads it is given, and idle
pool threads leave the cores to the event loop between batches. Serving needs every named
output and the session's declared inputs, so it holds the session itself rather than
accel-core's `onnx_predictor` (the main output only).
torch models (a `.pt2` program, TorchScript, a rebuilt checkpoint) run through accel-core's
`torch_predictor` (no autograd, the main output). An OpenVINO IR (what `accel compress` writes
when OpenVINO's int8 was the fastest) is compiled by accel-core's `openvino_model` with the
same threads, one stream, and every output returned.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accel.serve.errors import ModelLoadError
from accel.serve.tensors import ORT_TYPES, TORCH_TYPES, Dim, TensorSpec

ORT_PACKAGE = "accel-serve"  # onnxruntime is one of its dependencies
OPENVINO_PACKAGE = "'accel-serve[openvino]'"


def usable_cores() -> int:
    """Cores this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(kw_only=True)
class Runner:
    """A loaded model: what it takes, what it returns, and how to run one batch."""

    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    run: Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]
    threads: int

    def input(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)


def onnx_runner(path: Path, *, threads: int) -> Runner:
    """accel-core's ONNX Runtime CPU session on `path`: `threads` intra-op threads, no
    spinning (see the module docstring)."""
    from accel.core.errors import MissingPackageError
    from accel.core.inference import onnx_session

    try:
        session = onnx_session(path, threads=threads, spinning=False, package=ORT_PACKAGE)
    except MissingPackageError:
        raise
    except Exception as error:
        raise ModelLoadError(
            f"{path} is not a model ONNX Runtime can load: {flat(error)}"
        ) from None
    inputs = tuple(ort_spec(arg, path) for arg in session.get_inputs())
    outputs = tuple(ort_spec(arg, path) for arg in session.get_outputs())
    names = [spec.name for spec in outputs]

    def run(feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(names, session.run(names, dict(feed)), strict=True))

    return Runner(
        platform="onnxruntime_onnx", inputs=inputs, outputs=outputs, run=run, threads=threads
    )


def openvino_runner(path: Path, *, threads: int) -> Runner:
    """An OpenVINO IR (`path` the `.xml`) compiled for the CPU by accel-core's
    `openvino_model`: `threads` inference threads, one stream, one request at a time (the
    batcher calls `run` from one thread)."""
    from accel.core.errors import MissingPackageError
    from accel.core.inference import openvino_model

    try:
        compiled = openvino_model(path, threads=threads, package=OPENVINO_PACKAGE)
    except MissingPackageError:
        raise
    except Exception as error:
        raise ModelLoadError(f"{path} is not a model OpenVINO can load: {flat(error)}") from None
    inputs = tuple(openvino_spec(port, path) for port in compiled.inputs)
    outputs = tuple(openvino_spec(port, path) for port in compiled.outputs)
    request = compiled.create_infer_request()

    def run(feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = request.infer({spec.name: feed[spec.name] for spec in inputs})
        return {
            spec.name: np.array(result[port], copy=True)
            for spec, port in zip(outputs, compiled.outputs, strict=True)
        }

    return Runner(platform="openvino", inputs=inputs, outputs=outputs, run=run, threads=threads)


def openvino_spec(port: Any, path: Path) -> TensorSpec:
    """An OpenVINO input or output port as a spec (dynamic dimensions as None)."""
    name = port.get_any_name()
    try:
        dtype = port.get_element_type().to_dtype().name
    except Exception:  # a type numpy has no name for
        dtype = str(port.get_element_type())
    datatype = TORCH_TYPES.get(dtype)
    if datatype is None:
        raise ModelLoadError(f"{path}: {name!r} is {dtype}: accel serve takes numeric tensors")
    shape = tuple(d.get_length() if d.is_static else None for d in port.get_partial_shape())
    return TensorSpec(name=name, datatype=datatype, shape=shape)


def ort_spec(arg: Any, path: Path) -> TensorSpec:
    """An ONNX Runtime input or output as a spec; a non-tensor one cannot be served."""
    datatype = ORT_TYPES.get(arg.type)
    if datatype is None:
        raise ModelLoadError(
            f"{path}: {arg.name!r} is a {arg.type}; accel serve takes numeric tensors "
            f"({', '.join(sorted(ORT_TYPES))})"
        )
    shape = tuple(d if isinstance(d, int) and d >= 0 else None for d in arg.shape or ())
    return TensorSpec(name=arg.name, datatype=datatype, shape=shape)


def torch_runner(
    module: Any, inputs: tuple[TensorSpec, ...], *, platform: str, threads: int
) -> Runner:
    """A torch module (eval mode, no autograd) run through accel-core's `torch_predictor`;
    its one output is named `output` and described by running it once on example inputs."""
    import torch

    from accel.core.inference import torch_predictor

    torch.set_num_threads(threads)
    with contextlib.suppress(NotImplementedError):  # an exported program's module refuses it
        module.eval()
    predict = torch_predictor(module)

    def run(feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = tuple(torch.from_numpy(np.ascontiguousarray(feed[s.name])) for s in inputs)
        out = predict(tensors if len(tensors) > 1 else tensors[0])
        return {"output": out.detach().cpu().float().numpy()}

    example = {spec.name: spec.example(2 if spec.batched else 1) for spec in inputs}
    try:
        sample = run(example)["output"]
    except Exception as error:
        shapes = ", ".join(f"{s.name} {s.shape_text()}" for s in inputs)
        raise ModelLoadError(f"the model does not run on inputs {shapes}: {flat(error)}") from None
    batched = bool(inputs) and inputs[0].batched
    shape: tuple[Dim, ...] = tuple(sample.shape)
    if batched and shape:
        shape = (None, *shape[1:])
    output = TensorSpec(name="output", datatype="FP32", shape=shape)
    return Runner(platform=platform, inputs=inputs, outputs=(output,), run=run, threads=threads)


def torch_spec(name: str, dtype: Any, shape: tuple[Dim, ...]) -> TensorSpec:
    datatype = TORCH_TYPES.get(str(dtype).removeprefix("torch."))
    if datatype is None:
        raise ModelLoadError(f"input {name!r} is {dtype}: accel serve takes numeric tensors")
    return TensorSpec(name=name, datatype=datatype, shape=shape)


def flat(error: BaseException) -> str:
    """An exception as one short line."""
    text = " ".join(str(error).split())
    return (text[:300] + "...") if len(text) > 300 else (text or type(error).__name__)
