"""Run any model accel makes or opens, the same way everywhere: `predict(inputs) -> outputs`.

A torch module (eager, compiled or a loaded `torch.export` program) runs under `no_grad`; an
ONNX file runs in an ONNX Runtime CPU session with pinned intra-op threads; an OpenVINO IR
(`.xml` + `.bin`) compiled for the CPU with as many inference threads. `inputs` is one
tensor or a tuple of them (models with several inputs); the output is the model's main tensor
(the first of a tuple, list or dict). `accel compress`, `accel pipeline` and the tests share
this one runner, so an accuracy or a parity figure never depends on which command measured it.
torch is imported when a torch path runs, so an ONNX-only caller (a server) stays torch-free.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    import torch

Inputs = Union["torch.Tensor", tuple["torch.Tensor", ...]]  # strings: torch loads lazily
Predict = Callable[[Inputs], "torch.Tensor"]
ORT_PACKAGE = "onnxruntime"
OPENVINO_PACKAGE = "openvino"


def as_tuple(inputs: Inputs) -> tuple[torch.Tensor, ...]:
    return inputs if isinstance(inputs, tuple) else (inputs,)


def positional(inputs: Inputs, names: list[str], path: Path) -> tuple[torch.Tensor, ...]:
    """`inputs` as a tuple, one tensor per input of the model file `path` (`names`)."""
    tensors = as_tuple(inputs)
    if len(tensors) != len(names):
        raise ValueError(f"{path} takes {len(names)} inputs ({names}), got {len(tensors)}")
    return tensors


def first_tensor(output: Any) -> torch.Tensor:
    """The main output of a model that may return a tuple, list or dict."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, dict) and output:
        return first_tensor(next(iter(output.values())))
    if isinstance(output, list | tuple) and output:
        return first_tensor(output[0])
    raise TypeError(f"model returned a {type(output).__name__}, expected tensors")


def torch_predictor(module: Any) -> Predict:
    """`module` as a tensor function (no autograd graph is kept)."""
    import torch

    if not callable(module):
        raise TypeError(f"cannot run a {type(module).__name__}: expected a model")

    def run(inputs: Inputs) -> torch.Tensor:
        with torch.no_grad():
            return first_tensor(module(*as_tuple(inputs)))

    return run


def onnx_session(
    path: str | os.PathLike[str],
    *,
    threads: int | None = None,
    spinning: bool = True,
    package: str = ORT_PACKAGE,
) -> Any:
    """An ONNX Runtime CPU session on `path` with `threads` intra-op threads (default torch's
    count), one inter-op thread, sequential execution and warnings silenced.

    `spinning=False` stops idle pool threads from spin-waiting for work: a server whose event
    loop shares the cores with the session wants the CPU back between calls (ORT spins by
    default, which is faster for back-to-back calls). `package` is what a missing ONNX
    Runtime tells the user to install (a package's extra)."""
    from accel.core.optional import require

    ort = require("onnxruntime", package, "running an ONNX model")
    options = ort.SessionOptions()
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxPredictor:
    """An ONNX file as a tensor function (`onnx_predictor`); inputs bind by position.

    Its session never spins (`spinning=False`): a predictor runs between other work — the
    torch model it is compared with, another candidate, a data loader — and ONNX Runtime's
    default leaves its pool threads spin-waiting on the cores after each call. Measured on a
    4-layer BERT at batch 8 on 2 cores (`benchmarks/alternation.py`), torch eager right after a
    spinning session took 1.67x as long as after a quiet one, so every side-by-side speed-up
    was inflated by as much; the session itself was not slower without spinning.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        package: str = ORT_PACKAGE,
    ) -> None:
        self.path = Path(path)
        self.session = onnx_session(path, threads=threads, spinning=False, package=package)
        self.names = [i.name for i in self.session.get_inputs()]

    def __call__(self, inputs: Inputs) -> torch.Tensor:
        import torch

        tensors = positional(inputs, self.names, self.path)
        feed = {name: to_numpy(t) for name, t in zip(self.names, tensors, strict=True)}
        return torch.from_numpy(self.session.run(None, feed)[0])


def onnx_predictor(
    path: str | os.PathLike[str], *, threads: int | None = None, package: str = ORT_PACKAGE
) -> Predict:
    """An `OnnxPredictor` on `path`."""
    return OnnxPredictor(path, threads=threads, package=package)


def openvino_model(
    path: str | os.PathLike[str], *, threads: int | None = None, package: str = OPENVINO_PACKAGE
) -> Any:
    """An OpenVINO IR (`path` the `.xml`, its weights the `.bin` beside it) compiled for the
    CPU with `threads` inference threads (default torch's count), one stream, latency hint:
    one request at a time, the way accel times and serves a model. An IR is a graph and
    weights only (no code runs when it loads); `package` is what a missing OpenVINO tells the
    user to install."""
    from accel.core.optional import require

    ov = require("openvino", package, "running an OpenVINO model")
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    return ov.Core().compile_model(str(path), "CPU", config)


class OpenVinoPredictor:
    """An OpenVINO IR as a tensor function (`openvino_model`); inputs bind by position, the
    output is the model's first, copied out of the request's buffer."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        package: str = OPENVINO_PACKAGE,
    ) -> None:
        self.path = Path(path)
        self.compiled = openvino_model(path, threads=threads, package=package)
        self.request = self.compiled.create_infer_request()
        self.names = [port.get_any_name() for port in self.compiled.inputs]

    def __call__(self, inputs: Inputs) -> torch.Tensor:
        import numpy as np
        import torch

        tensors = positional(inputs, self.names, self.path)
        result = self.request.infer([to_numpy(t) for t in tensors])
        return torch.from_numpy(np.array(result[self.compiled.output(0)], copy=True))


def archive_kind(path: str | os.PathLike[str]) -> str:
    """What a torch file is, read from its zip listing only (nothing is unpickled or run):
    `"torchscript"` (a program: loading it runs code), `"export"` (a `torch.export` archive)
    or `"torch"` (a `torch.save` file, zip or legacy pickle, or anything else: torch.load
    says what it is not). A zip that cannot be read raises OSError or zipfile.BadZipFile."""
    if not zipfile.is_zipfile(path):
        return "torch"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names):
        return "torchscript"
    if any(n.endswith("archive_format") or "/models/" in n for n in names):
        return "export"
    return "torch"


def to_numpy(tensor: torch.Tensor) -> Any:
    """A CPU array for ONNX Runtime: floating point as float32 (what exported graphs take),
    integer and boolean inputs (token ids, masks) as they are."""
    tensor = tensor.detach().cpu()
    return (tensor.float() if tensor.is_floating_point() else tensor).numpy()


def open_program(path: str | os.PathLike[str], *, trust: bool | None = None) -> Any:
    """A `.pt2` program's module, opened by the checked loader (no pickle runs unless the file
    is trusted), with the int8 ops a PT2E program refers to registered first (they live in a
    module torch does not import by itself), and the output classes of known libraries its
    inputs and outputs are made of (`import_output_types`)."""
    import torch.ao.quantization.fx._decomposed  # noqa: F401 - registers quantized_decomposed ops

    from accel.core.export_archive import load_exported_program

    import_output_types(path)
    return load_exported_program(path, trust=trust)


# library -> the one module of its output classes a program may return (a fixed name: a file
# only says whether it is needed, never what to import)
OUTPUT_MODULES = {"transformers": "transformers.modeling_outputs"}
TYPE_NAME = re.compile(r'\\"type\\": \\"([A-Za-z_][\w.]*)\\"')
MAX_SPEC_BYTES = 64 * 2**20  # a serialized program larger than this is not scanned


def import_output_types(path: str | os.PathLike[str]) -> None:
    """Import the output-class module of each library in `OUTPUT_MODULES` whose classes a
    program's pytree specs name (a transformers model returns a `BaseModelOutput`):
    `torch.export.load` rebuilds those only when the class is registered in this process. The
    module imported is accel's fixed choice, never a name read from the file."""
    import importlib
    import importlib.util

    libraries = {name.split(".")[0] for name in pytree_types(path)}
    for library in sorted(libraries & set(OUTPUT_MODULES)):
        try:
            if importlib.util.find_spec(library) is not None:
                importlib.import_module(OUTPUT_MODULES[library])
        except ImportError:
            continue  # not installed (or half): torch.export.load says what is missing


def pytree_types(path: str | os.PathLike[str]) -> set[str]:
    """The class names in the pytree specs of a `.pt2` archive's serialized programs."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                info
                for info in archive.infolist()
                if "/models/" in info.filename
                and info.filename.endswith(".json")
                and info.file_size <= MAX_SPEC_BYTES
            ]
            return {t for m in members for t in TYPE_NAME.findall(archive.read(m).decode())}
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError):
        return set()


def predictor(model: Any, *, threads: int | None = None, trust: bool | None = None) -> Predict:
    """How to run `model`: a torch module, or the path of an `.onnx`, `.pt2` or OpenVINO
    `.xml` file."""
    if isinstance(model, str | os.PathLike):
        path = Path(model)
        if path.suffix == ".onnx":
            return onnx_predictor(path, threads=threads)
        if path.suffix == ".xml":
            return OpenVinoPredictor(path, threads=threads)
        if path.suffix == ".pt2":
            from accel.core.program_module import program_module

            return torch_predictor(program_module(open_program(path, trust=trust)))
        raise ValueError(f"{path}: expected an .onnx, .pt2 or .xml file, or a torch module")
    return torch_predictor(model)
