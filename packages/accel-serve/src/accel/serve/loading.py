"""Open what the other accel packages write, under the same loading policy as everywhere.

- an `.onnx` file, or a folder holding `model.onnx`: ONNX Runtime;
- an `accel compress` output folder (`report.json` names its model file, `model.onnx`,
  `model.pt2` or an OpenVINO `model.xml`, and records the input signature);
- an OpenVINO IR `.xml` file (its `.bin` beside it), with `accel-serve[openvino]`;
- a `.pt2` `torch.export` program, opened by accel-core's checked loader (no pickle runs);
- TorchScript: a program, so only with `--trust-file` (it runs code when loaded);
- an accel checkpoint, `last` pointer or run directory: the model is rebuilt from its stored
  config through the registry (names only: a `_target_` needs `--trust-file`), the input shape
  and evaluation transform come from its data config;
- an MLflow model URI (`models:/name@alias`, `runs:/...`, with `accel-serve[mlflow]`): fetched,
  then opened as one of the above (`accel.serve.mlflow_uri`).
"""

from __future__ import annotations

import json
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from accel.serve.errors import ModelLoadError
from accel.serve.mlflow_uri import fetch_model, is_model_uri, require_mlflow, uri_name
from accel.serve.preprocessing import Preprocessing, check_fits, derive, model_columns, read_card
from accel.serve.runners import Runner, onnx_runner, openvino_runner, torch_runner, torch_spec
from accel.serve.tensors import TensorSpec

REPORT = "report.json"
MAX_REPORT_BYTES = 16 << 20
KINDS = ("onnx", "openvino", "compress", "pt2", "torchscript", "checkpoint")


@dataclass(frozen=True, kw_only=True)
class LoadedModel:
    """A model ready to run, how `/predict` prepares its inputs, and how long loading took."""

    runner: Runner
    preprocessing: Preprocessing
    kind: str
    path: Path | str  # an MLflow model URI stays one
    load_seconds: float


def model_kind(path: Path) -> str:
    """Which of KINDS `path` is, read from names and a zip's listing only (cheap: the CLI
    checks every path before the server starts)."""
    if not path.exists():
        raise ModelLoadError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / REPORT).is_file():
            return "compress"
        if (path / "manifest.json").is_file() or (path / "checkpoints").is_dir():
            return "checkpoint"
        if (path / "model.onnx").is_file():
            return "onnx"
        raise ModelLoadError(
            f"{path}: a folder accel serve opens holds report.json (accel compress), "
            "manifest.json (a checkpoint), checkpoints/ (a run) or model.onnx"
        )
    if path.name == "last":
        return "checkpoint"
    if path.suffix == ".onnx":
        return "onnx"
    if path.suffix == ".pt2":
        return "pt2"
    if path.suffix == ".xml":
        return "openvino"
    from accel.core.inference import archive_kind

    try:
        kind = archive_kind(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ModelLoadError(f"{path} is unreadable: {error}") from None
    if kind in ("torchscript", "export"):
        return "pt2" if kind == "export" else kind
    raise ModelLoadError(
        f"{path}: expected an .onnx file, a .pt2 program, an OpenVINO .xml, TorchScript, an "
        "accel compress output folder or an accel checkpoint / run directory"
    )


def open_model(
    path: Path | str,
    *,
    threads: int,
    trust: bool = False,
    input_shape: tuple[int, ...] | None = None,
) -> LoadedModel:
    """Load the model at `path` (see the module docstring) and its preprocessing; an MLflow
    model URI is fetched to a folder of our own first, removed once the model is in memory."""
    start = time.perf_counter()
    if isinstance(path, str) and is_model_uri(path):
        import tempfile

        with tempfile.TemporaryDirectory(prefix="accel-serve-mlflow-") as folder:
            local = fetch_model(path, Path(folder))
            loaded = open_model(local, threads=threads, trust=trust, input_shape=input_shape)
        return replace(loaded, path=path, load_seconds=time.perf_counter() - start)
    path = Path(path)
    kind = model_kind(path)
    if kind == "compress":
        runner, prep = open_compress_folder(path, threads=threads, trust=trust)
    elif kind == "onnx":
        file = path / "model.onnx" if path.is_dir() else path
        runner = onnx_runner(file, threads=threads)
        prep = derive(runner.inputs, read_card(file.parent), source=str(file.parent))
    elif kind == "openvino":
        runner = openvino_runner(path, threads=threads)
        prep = derive(runner.inputs, read_card(path.parent), source=str(path.parent))
    elif kind == "pt2":
        runner = open_pt2(path, threads=threads, trust=trust)
        prep = derive(runner.inputs, read_card(path.parent), source=str(path.parent))
    elif kind == "torchscript":
        runner = open_torchscript(path, threads=threads, trust=trust, input_shape=input_shape)
        prep = derive(runner.inputs, read_card(path.parent), source=str(path.parent))
    else:
        runner, prep = open_checkpoint(path, threads=threads, trust=trust, input_shape=input_shape)
    check_fits(prep, runner.outputs, str(path))
    return LoadedModel(
        runner=runner,
        preprocessing=prep,
        kind=kind,
        path=path,
        load_seconds=time.perf_counter() - start,
    )


def check_source(source: Path | str) -> None:
    """What the CLI checks before the server starts: a path is a kind accel serves; a URI's
    form is valid and mlflow is installed (fetching waits for the server's loading phase)."""
    if isinstance(source, str) and is_model_uri(source):
        uri_name(source)
        require_mlflow(source)
        return
    model_kind(Path(source))


def open_compress_folder(path: Path, *, threads: int, trust: bool) -> tuple[Runner, Preprocessing]:
    """The model file an `accel compress` report names, inside its folder."""
    report = read_report(path / REPORT)
    named = report.get("outputs")
    outputs: dict[str, Any] = named if isinstance(named, dict) else {}
    from accel.core.names import is_plain_name

    for key in ("onnx", "openvino", "pt2"):
        name = outputs.get(key)
        if name is None:
            continue
        if not is_plain_name(name) or not (path / name).is_file():
            raise ModelLoadError(f"{path / REPORT}: outputs.{key} = {name!r} is not a file here")
        file = path / name
        if key == "onnx":
            runner = onnx_runner(file, threads=threads)
        elif key == "openvino":
            runner = openvino_runner(file, threads=threads)
        else:
            runner = open_pt2(file, threads=threads, trust=trust)
        source = f"{path / REPORT} and the input signature"
        return runner, derive(runner.inputs, read_card(path), source=source)
    raise ModelLoadError(
        f"{path / REPORT} names no model.onnx, model.xml or model.pt2 (outputs: "
        f"{sorted(outputs)}): "
        "export one with accel compress --export onnx"
    )


def read_report(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise ModelLoadError(f"{path} is larger than {MAX_REPORT_BYTES} bytes")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(f"{path} is not JSON: {error}") from None
    if not isinstance(report, dict):
        raise ModelLoadError(f"{path}: expected a JSON object (an accel compress report)")
    return report


def open_pt2(path: Path, *, threads: int, trust: bool) -> Runner:
    """A `torch.export` program through accel-core's checked loader; its inputs from the
    program's placeholders (dynamic dimensions stay dynamic)."""
    from accel.core.inference import open_program
    from accel.core.program_module import program_module

    program = open_program(path, trust=trust)
    user = set(program.graph_signature.user_inputs)
    inputs = []
    for node in program.graph.nodes:
        if node.op != "placeholder" or node.name not in user:
            continue
        value = node.meta.get("val")
        if value is None or not hasattr(value, "shape"):
            raise ModelLoadError(f"{path}: input {node.name!r} is not a tensor")
        shape = tuple(d if isinstance(d, int) else None for d in value.shape)
        inputs.append(torch_spec(node.name, value.dtype, shape))
    module = program_module(program)
    return torch_runner(module, tuple(inputs), platform="pytorch_pt2", threads=threads)


def open_torchscript(
    path: Path, *, threads: int, trust: bool, input_shape: tuple[int, ...] | None
) -> Runner:
    """TorchScript runs code when loaded: only from a trusted file, with `--input-shape`."""
    from accel.core.trust import TRUST_FLAG

    if not trust:
        raise ModelLoadError(
            f"{path} is TorchScript: loading it runs the program it holds, so it was not "
            f"loaded. Pass {TRUST_FLAG} only if you trust its source, or serve an ONNX file or "
            "a torch.export .pt2"
        )
    if input_shape is None:
        raise ModelLoadError(f"{path}: TorchScript records no input shape: pass --input-shape")
    import torch

    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as error:
        raise ModelLoadError(f"{path} is not loadable TorchScript: {error}") from None
    spec = TensorSpec(name="input", datatype="FP32", shape=(None, *input_shape))
    return torch_runner(module, (spec,), platform="pytorch_torchscript", threads=threads)


def open_checkpoint(
    path: Path, *, threads: int, trust: bool, input_shape: tuple[int, ...] | None
) -> tuple[Runner, Preprocessing]:
    """An accel checkpoint rebuilt through the registry; input shape, evaluation transform
    and class names from the data module its config names (or `--input-shape`)."""
    from accel.core.checkpoint import (
        checkpoint_section,
        load_checkpoint,
        manifest_source,
        rebuild_model,
    )
    from accel.core.registry import build_from_file

    model = rebuild_model(path, trust=trust)
    manifest, _ = load_checkpoint(path)
    columns = model_columns(model)  # a model fed named columns describes them: no data needed
    spec = None if columns else checkpoint_section(manifest, "config.data", trust=trust)
    data = None
    if spec is not None:
        source = manifest_source(manifest)
        data = build_from_file("datasets", spec, source=source, key="config.data", trust=trust)
    default = (len(columns["columns"]["columns"]),) if columns else ()
    shape = input_shape or tuple(int(n) for n in getattr(data, "input_shape", None) or default)
    if not shape:
        raise ModelLoadError(
            f"{path}: its data config states no input shape: pass --input-shape (e.g. 1,8,8)"
        )
    inputs = (TensorSpec(name="input", datatype="FP32", shape=(None, *shape)),)
    runner = torch_runner(model, inputs, platform="pytorch_accel_checkpoint", threads=threads)
    classes = getattr(data, "classes", None)
    card = columns or ({"labels": [str(c) for c in classes]} if classes else None)
    transform = getattr(data, "eval_transform", None)
    prep = derive(inputs, card, transform, source=f"{manifest_source(manifest)} config.data")
    return runner, prep
