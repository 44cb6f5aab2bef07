"""The library API: one call per job, each building a context and running one registered pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from accel.compress.analysis import analyze as _analyze
from accel.compress.artifacts import ExportedModel, OnnxModel
from accel.compress.pipeline import Result
from accel.compress.pipeline import compress as _compress
from accel.compress.recipe import build_recipe
from accel.compress.signature import Inputs
from accel.core.passes import PassContext, build_pass


def _context(
    example_inputs: Inputs | None,
    calib_data: Any = None,
    output_dir: str | Path | None = None,
    **extra: Any,
) -> PassContext:
    if example_inputs is None and calib_data is not None:
        from accel.compress.data import take_inputs

        example_inputs = take_inputs(calib_data, 1)[0]
    return PassContext(
        example_inputs=example_inputs,
        calib_data=calib_data,
        output_dir=Path(output_dir) if output_dir else None,
        **extra,
    )


def prune(
    model: nn.Module, example_inputs: Inputs, ratio: float = 0.5, **options: Any
) -> nn.Module:
    """A structurally pruned copy of `model` (see the `prune` pass for options)."""
    return build_pass({"name": "prune", "ratio": ratio, **options})(model, _context(example_inputs))


def quantize(
    model: Any,
    calib_data: Any = None,
    *,
    example_inputs: Inputs | None = None,
    backend: str = "ort",
    output_dir: str | Path = "accel-quantized",
    target: str = "x86",
    **options: Any,
) -> Any:
    """int8 `model`: an `OnnxModel` (backend 'ort'), an `OpenVinoModel` ('openvino') or a torch
    module ('pt2e', 'torchao')."""
    context = _context(example_inputs, calib_data, output_dir, target=target)
    return build_pass({"name": "quantize", "backend": backend, **options})(model, context)


def export(
    model: nn.Module,
    example_inputs: Inputs,
    path: str | Path,
    format: str = "onnx",
) -> OnnxModel | ExportedModel:
    """`model` written to `path` as ONNX (dynamic batch, checked) or a torch.export program."""
    path = Path(path)
    context = _context(example_inputs, output_dir=path.parent)
    spec = {"name": "export", "format": format, "filename": path.name}
    result: OnnxModel | ExportedModel = build_pass(spec)(model, context)
    return result


def export_onnx(model: nn.Module, example_inputs: Inputs, path: str | Path) -> OnnxModel:
    """`model` written to `path` as ONNX with a dynamic batch axis."""
    result = export(model, example_inputs, path, "onnx")
    assert isinstance(result, OnnxModel)
    return result


def analyze(model: Any, example_inputs: Inputs, **options: Any) -> dict[str, Any]:
    """Parameters, MACs, size on disk and latency (median after warm-up, threads stated)."""
    return _analyze(model, example_inputs, **options)


def compress(
    model: Any,
    example_inputs: Inputs,
    *,
    output_dir: str | Path | None = None,
    calib_data: Any = None,
    train_data: Any = None,
    val_data: Any = None,
    recipe: dict[str, Any] | None = None,
    quiet: bool = True,
    **flags: Any,
) -> Result:
    """The whole pipeline: `compress(model, x, quantize="int8", prune=0.5, output_dir="out")`.

    `flags` are those of `build_recipe` (quantize, prune, fold_bn, merge_branches, export,
    backend, max_drop, force, target); `recipe` replaces them.
    """
    from accel.compress.verify import accuracy

    recipe = recipe or build_recipe(has_train_data=train_data is not None, **flags)
    evaluate = None if val_data is None else (lambda artifact: accuracy(artifact, val_data))
    context = _context(
        example_inputs, calib_data, train_data=train_data, val_data=val_data, evaluate=evaluate
    )
    return _compress(model, recipe, context, output_dir, quiet=quiet)
