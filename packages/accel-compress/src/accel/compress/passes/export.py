"""`export`: a torch model to ONNX (dynamic batch, checked) or to a `torch.export` program.

Every input of the model's signature is exported: its name, a dynamic batch axis, and a
dynamic axis wherever the signature marks one. A loaded `torch.export` program is re-exported
with the dimensions it records as dynamic left to torch (`Dim.AUTO`), so its own ranges hold
(`Dim("batch", max=8)`, `min=2`) and a static program stays static at its own batch.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.compress.artifacts import ExportedModel, OnnxModel, is_program_module, set_eval
from accel.compress.atomic import atomic_path
from accel.compress.extras import ONNX, need
from accel.compress.hf import TensorModel
from accel.compress.passes.parity import record_parity
from accel.compress.signature import (
    Inputs,
    Signature,
    as_tuple,
    batch_of,
    batch_size,
    program_signature,
)
from accel.core.errors import ConfigError
from accel.core.passes import PassContext
from accel.core.program_module import KeywordProgram

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
        example, signature = context.example_inputs, context.options.get("signature")
        if self.format == "onnx":
            result: Any = OnnxModel(export_onnx(model, example, path, self.opset, signature))
        else:
            result = ExportedModel(export_program(model, example, path, signature))
        report = context.record("export", format=self.format, path=str(path))
        record_parity(report, model, result, context, None)
        return result


def export_example(model: Any, example: Inputs) -> Inputs:
    """The example to trace with: at batch >= 2 (a batch of 1 would be baked in), unless the
    program's batch is fixed or bounded below 2."""
    own = program_signature(model)
    limits = own.batch_range() if own is not None else (1, None)
    if limits is None or (limits[1] is not None and limits[1] < 2):
        return example
    return batch_of(example, max(2, batch_size(example)))


def dynamic_shapes(model: Any, args: tuple[torch.Tensor, ...], signature: Signature | None) -> Any:
    """`dynamic_shapes` for `torch.export`: a program's own dynamic dims (`Dim.AUTO`: torch
    keeps the ranges its guards imply); else one shared `Dim("batch", min=1)` on every input's
    first dim and `Dim.AUTO` where the signature marks another dim dynamic."""
    own = program_signature(model)
    if own is not None:
        return tuple(
            {d: torch.export.Dim.AUTO for d in spec.dynamic_dims()} or None for spec in own.inputs
        )
    batch = torch.export.Dim("batch", min=1)
    specs = signature.inputs if signature is not None else ()
    shapes: list[Any] = []
    for index, tensor in enumerate(args):
        dims: dict[int, Any] = {0: batch} if tensor.dim() else {}
        if index < len(specs):
            dims.update({d: torch.export.Dim.AUTO for d in specs[index].dynamic_dims() if d})
        shapes.append(dims or None)
    return tuple(shapes)


def trace_program(
    model: nn.Module, example: Inputs, signature: Signature | None = None
) -> torch.export.ExportedProgram:
    """`torch.export` of `model` on `example` with the dynamic dims of `dynamic_shapes`; a
    program exported with keyword inputs is exported again with the same keywords (so its
    inputs keep their names in ONNX and in the new program), and with its constant keywords
    (`use_cache=False`) as they were."""
    args = as_tuple(export_example(model, example))
    shapes = dynamic_shapes(model, args, signature)
    if isinstance(model, KeywordProgram):
        count, names = model.positional, model.keywords
        kwargs = {**dict(zip(names, args[count:], strict=True)), **model.constants}
        shapes = (*shapes, *(None for _ in model.constants))
        return torch.export.export(
            model.program, args[:count], kwargs=kwargs, dynamic_shapes=shapes
        )
    if takes_varargs(model):
        shapes = (shapes,)  # one `*inputs` parameter: its dims nest one level down
    return torch.export.export(set_eval(model), args, dynamic_shapes=shapes)


def export_onnx(
    model: nn.Module,
    example: Inputs,
    path: Path,
    opset: int = 18,
    signature: Signature | None = None,
) -> Path:
    """ONNX with a dynamic batch axis on every input (and the dims the signature marks),
    checked with `onnx.checker` (full check); one file."""
    if is_program_module(model):
        return export_onnx_dynamo(model, example, path)
    if isinstance(model, TensorModel) and fused_attention_onnx(model, example, path, signature):
        return path
    import onnx

    model = model.eval()
    args = as_tuple(export_example(model, example))
    inputs = onnx_input_names(args, signature)
    outputs = onnx_output_names(model, args)
    axes = dynamic_axes(args, inputs, outputs, signature)
    with atomic_path(path) as temp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            args,
            str(temp),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
        onnx.checker.check_model(str(temp), full_check=True)
    return path


def fused_attention_onnx(
    model: nn.Module, example: Inputs, path: Path, signature: Signature | None
) -> bool:
    """A transformers model through `torch.export` at `ATTENTION_OPSET` (one fused Attention
    node per layer, as for programs; inputs and outputs named as the legacy exporter names
    them). False where the export fails, the model has no scaled-dot-product attention, or
    ONNX Runtime cannot run the result: the caller writes the legacy exporter's form."""
    import onnx

    model = model.eval()
    args = as_tuple(export_example(model, example))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = trace_program(model, example, signature)
    except Exception:  # any failure: the legacy exporter is tried instead
        return False
    if not uses_attention(program):
        return False
    write_program_onnx(program, path, ATTENTION_OPSET)
    proto = onnx.load(str(path))
    rename_values(proto, onnx_input_names(args, signature), onnx_output_names(model, args))
    with atomic_path(path) as temp:
        onnx.save_model(proto, str(temp))
    return runs_in_onnxruntime(path, args)


def rename_values(proto: Any, inputs: list[str], outputs: list[str]) -> None:
    """Give a graph's inputs and outputs these names, in order (where the counts agree)."""
    graph = proto.graph
    renames: dict[str, str] = {}
    for values, names in ((graph.input, inputs), (graph.output, outputs)):
        if len(values) == len(names):
            renames.update({v.name: n for v, n in zip(values, names, strict=True)})
    for value in [*graph.input, *graph.output]:
        value.name = renames.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [renames.get(i, i) for i in node.input]
        node.output[:] = [renames.get(o, o) for o in node.output]


def takes_varargs(model: Any) -> bool:
    """Whether a module's forward takes only `*inputs` (the dims for `torch.export` then
    nest inside that one parameter's entry)."""
    import inspect

    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return False
    return [p.kind for p in parameters] == [inspect.Parameter.VAR_POSITIONAL]


def onnx_input_names(args: tuple[torch.Tensor, ...], signature: Signature | None) -> list[str]:
    """`input` for a one-input model (as before); the signature's names for several."""
    if len(args) == 1:
        return ["input"]
    names = signature.names if signature is not None else []
    return [names[i] if i < len(names) else f"input_{i}" for i in range(len(args))]


def onnx_output_names(model: nn.Module, args: tuple[torch.Tensor, ...]) -> list[str]:
    """`output`, `output_1`, ... one per tensor the model returns (a dict's or a tuple's)."""
    with torch.no_grad():
        count = len(output_tensors(model(*args)))
    return ["output", *(f"output_{i}" for i in range(1, count))]


def output_tensors(output: Any) -> list[torch.Tensor]:
    """The tensors of a model's output, in the order the ONNX exporter flattens them."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, dict):
        output = [v for v in output.values() if v is not None]
    if isinstance(output, list | tuple):
        return [t for item in output for t in output_tensors(item)]
    return []


def dynamic_axes(
    args: tuple[torch.Tensor, ...],
    inputs: list[str],
    outputs: list[str],
    signature: Signature | None,
) -> dict[str, dict[int, str]]:
    """A dynamic batch on every input and output, and the signature's other dynamic dims."""
    specs = signature.inputs if signature is not None and len(signature.inputs) == len(args) else ()
    axes: dict[str, dict[int, str]] = {}
    for index, (name, tensor) in enumerate(zip(inputs, args, strict=True)):
        dims = {0: "batch"} if tensor.dim() else {}
        if specs:
            spec = specs[index]
            dims.update({d: str(spec.shape[d] or f"{name}_{d}") for d in spec.dynamic_dims() if d})
        axes[name] = dims
    axes.update({name: {0: "batch"} for name in outputs})
    return axes


def export_onnx_dynamo(model: nn.Module, example: Inputs, path: Path) -> Path:
    """ONNX of a loaded `torch.export` program's module (the legacy exporter refuses those):
    re-exported with the program's own dynamic dims, then written as one file (weights
    embedded) without the exporter's annotations (see `drop_annotations`). Opset 18, or 23
    where the program calls scaled-dot-product attention and ONNX Runtime runs the result
    on the example (see `ATTENTION_OPSET`)."""
    program = trace_program(model, example)
    if uses_attention(program):
        write_program_onnx(program, path, ATTENTION_OPSET)
        if runs_in_onnxruntime(path, export_example(model, example)):
            return path
    return write_program_onnx(program, path, 18)


def write_program_onnx(program: torch.export.ExportedProgram, path: Path, opset: int) -> Path:
    import onnx

    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draft = Path(folder) / "model.onnx"
        quiet_onnx_logs()
        torch.onnx.export(program, f=str(draft), dynamo=True, opset_version=opset, verbose=False)
        proto = onnx.load(str(draft))  # pulls in the external .data weights
        drop_annotations(proto)
        fold_weight_transposes(proto)
        with atomic_path(path) as temp:
            onnx.save_model(proto, str(temp))
            onnx.checker.check_model(str(temp), full_check=True)
    return path


# Opset 23 has a standard `Attention` op: the exporter writes each scaled-dot-product
# attention as one node (mask and scaling included), which ONNX Runtime runs as one fused
# kernel, where opset 18 spells it out in ~12 nodes (transposes, masking `Where`s, NaN
# guards). A 4-layer, 256-wide BERT at batch 8 x 128 tokens, ONNX Runtime on 2 threads:
# fp32 42 -> 33 ms, dynamic int8 28 -> 20 ms, outputs the same to 1e-7. Where ONNX Runtime
# cannot run the Attention node (`runs_in_onnxruntime`), opset 18 it is.
ATTENTION_OPSET = 23


def uses_attention(program: torch.export.ExportedProgram) -> bool:
    """Whether a program calls one of aten's scaled-dot-product attention ops."""
    return any(
        node.op == "call_function" and "scaled_dot_product" in str(node.target)
        for node in program.graph.nodes
    )


def runs_in_onnxruntime(path: Path, example: Inputs) -> bool:
    """Whether ONNX Runtime runs the model on `example`. Its Attention kernel takes a mask
    only at full [query, key] length: one that broadcasts over the queries ([batch, 1, 1,
    keys], common in hand-written models) exports, then fails on every call."""
    from accel.core.inference import OnnxPredictor

    try:
        OnnxPredictor(path, threads=1)(example)
    except Exception:  # any failure: the opset-18 form is written instead
        return False
    return True


def drop_annotations(proto: Any) -> None:
    """Remove the dynamo exporter's `value_info` (shapes of weights and intermediates): ONNX
    Runtime's dynamic quantizer transposes a Gemm's weight under the same name, and its shape
    inference then fails on the stale entry ("Inferred shape and existing shape differ in
    dimension 0: (64) vs (256)"); shapes are inferred again wherever they are needed. Also
    its per-node debug metadata (module path, FX node, stack trace): a third of a small
    model's file, and the exporting machine's file paths."""
    del proto.graph.value_info[:]
    for node in proto.graph.node:
        del node.metadata_props[:]


def fold_weight_transposes(proto: Any) -> None:
    """Store each weight the graph transposes (a `Transpose` of an initializer) transposed.
    The exporter's optimizer leaves large ones unfolded, and a tied language-model head
    (GPT-2's `lm_head`, the embedding table transposed) then transposed 50257 x 256 floats on
    every call and, its weight not being an initializer, stayed out of int8."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = proto.graph
    weights = {t.name: t for t in graph.initializer}
    folded = [n for n in graph.node if n.op_type == "Transpose" and n.input[0] in weights]
    for node in folded:
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
        array = np.ascontiguousarray(
            np.transpose(numpy_helper.to_array(weights[node.input[0]]), perm)
        )
        graph.initializer.append(numpy_helper.from_array(array, node.output[0]))
        graph.node.remove(node)
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
           for n in graph.node for a in n.attribute):  # fmt: skip
        return  # a subgraph may still read a folded weight: keep every one
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    for name in {n.input[0] for n in folded} - used:
        graph.initializer.remove(weights[name])


def quiet_onnx_logs() -> None:
    """The dynamo exporter logs a warning per missing torchvision op, and its optimizer one per
    constant it could not fold ("Evaluation failed: ..."): not our user's concern."""
    import logging

    for name in ("torch.onnx", "onnxscript"):
        logging.getLogger(name).setLevel(logging.ERROR)


def export_program(
    model: nn.Module, example: Inputs, path: Path, signature: Signature | None = None
) -> Path:
    """A `torch.export` program with a dynamic batch dimension (exported at batch >= 2), or
    the dims a re-exported program records as dynamic."""
    program = trace_program(model, example, signature)
    with atomic_path(path) as temp:
        torch.export.save(program, str(temp))
    return path
