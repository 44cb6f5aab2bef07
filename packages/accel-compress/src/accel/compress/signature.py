"""A model's inputs as a signature: an ordered list of named tensors, each with a dtype and a
shape whose dynamic dimensions are marked.

Calibration, parity, latency, export and evaluation all take a model's inputs as one tensor or
a tuple of tensors in this order (`Inputs`). A signature is read from a loaded `torch.export`
program (its placeholders' recorded shapes and ranges), an ONNX file, a batch of data, or the
`--input-spec` flag (`input_ids:int64[1,128],attention_mask:int64[1,128]`); `--input-shape` is
the one-float-input shortcut. Without data, `synthetic` makes inputs of the right dtypes.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from accel.core.errors import ConfigError

Inputs = torch.Tensor | tuple[torch.Tensor, ...]
Size = int | str | None  # a fixed size, or a dynamic dimension (named, or not)
Range = tuple[int, int | None]  # (low, high) of a dynamic dimension; high None: unbounded

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
    "int64": torch.int64,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
MAX_INPUTS, MAX_DIMS = 16, 8
MAX_BATCH, MAX_SAMPLE = 4096, 2**24  # as --input-shape: a batch, and elements of one sample
SPEC_EXAMPLE = "input_ids:int64[1,128],attention_mask:int64[1,128]"
SPEC_PART = re.compile(r"^([A-Za-z_]\w*):([a-z0-9]+)\[([^\[\]]*)\]$")


@dataclass(frozen=True, kw_only=True)
class InputSpec:
    """One named input: its dtype, its shape (dynamic dims as a name or None), an example size
    for every dim (what synthetic inputs are made at) and the (low, high) of dynamic dims."""

    name: str
    dtype: torch.dtype
    shape: tuple[Size, ...]
    sizes: tuple[int, ...]
    ranges: tuple[Range | None, ...] = ()

    def dynamic_dims(self) -> tuple[int, ...]:
        return tuple(d for d, size in enumerate(self.shape) if not isinstance(size, int))

    def range_of(self, dim: int) -> Range | None:
        return self.ranges[dim] if dim < len(self.ranges) else None

    def text(self) -> str:
        dims = [str(s) if isinstance(s, int) else f"{s or '?'}={n}" for s, n in self.sized()]
        return f"{self.name}:{dtype_name(self.dtype)}[{','.join(dims)}]"

    def sized(self) -> list[tuple[Size, int]]:
        return list(zip(self.shape, self.sizes, strict=True))


@dataclass(frozen=True, kw_only=True)
class Signature:
    """The inputs of a model in the order its forward takes them, and where they were read."""

    inputs: tuple[InputSpec, ...]
    source: str

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    @property
    def dtypes(self) -> list[torch.dtype]:
        return [spec.dtype for spec in self.inputs]

    def text(self) -> str:
        return ", ".join(spec.text() for spec in self.inputs)

    def as_dict(self) -> dict[str, Any]:
        """What the report records: names, dtypes, shapes (dynamic dims as names) and source."""
        return {
            "source": self.source,
            "inputs": [
                {"name": s.name, "dtype": dtype_name(s.dtype), "shape": list(s.shape)}
                for s in self.inputs
            ],
        }

    def batch_range(self) -> Range | None:
        """(low, high) of the first input's batch dimension; None when it is fixed."""
        first = self.inputs[0] if self.inputs else None
        return None if first is None or not first.shape else first.range_of(0)

    def synthetic(self, vocab: int | None = None, seed: int = 0) -> Inputs:
        """Inputs of the signature's dtypes and example sizes: floats seeded randn, masks (a
        name with "mask") all ones, token type ids zeros, other integers token ids in
        [0, vocab) (else [0, 2))."""
        generator = torch.Generator().manual_seed(seed)
        tensors = tuple(synthetic_input(s, vocab, generator) for s in self.inputs)
        return tensors[0] if len(tensors) == 1 else tensors


def synthetic_input(spec: InputSpec, vocab: int | None, generator: torch.Generator) -> Any:
    """One synthetic input (see `Signature.synthetic`)."""
    if 0 in spec.sizes[1:]:
        raise ConfigError(
            f"the size of input {spec.text()} is not known: pass data, or --input-spec "
            f"with its sizes, e.g. {SPEC_EXAMPLE}"
        )
    sizes = (max(spec.sizes[0], 1), *spec.sizes[1:]) if spec.sizes else ()
    name = spec.name.lower()
    if spec.dtype.is_floating_point:
        return torch.randn(sizes, generator=generator).to(spec.dtype)
    if "mask" in name:
        return torch.ones(sizes, dtype=spec.dtype)
    if "type" in name or "segment" in name:
        return torch.zeros(sizes, dtype=spec.dtype)
    top = 2 if spec.dtype == torch.bool or not vocab else vocab
    return torch.randint(0, top, sizes, generator=generator).to(spec.dtype)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# Inputs: one tensor or a tuple of them, handled alike everywhere.


def as_tuple(inputs: Inputs) -> tuple[torch.Tensor, ...]:
    return inputs if isinstance(inputs, tuple) else (inputs,)


def map_inputs(inputs: Inputs, change: Callable[[torch.Tensor], torch.Tensor]) -> Inputs:
    """`change` applied to every tensor of `inputs` (a tuple stays a tuple)."""
    if isinstance(inputs, tuple):
        return tuple(change(t) for t in inputs)
    return change(inputs)


def batch_size(inputs: Inputs) -> int:
    """Samples in a batch of inputs (the first tensor's first dimension)."""
    return int(as_tuple(inputs)[0].shape[0])


def head(inputs: Inputs, count: int) -> Inputs:
    """The first `count` samples of every input."""
    return map_inputs(inputs, lambda t: t[:count])


def batch_of(inputs: Inputs, size: int) -> Inputs:
    """`inputs` repeated or cut to `size` samples (every tensor's batch dim, same samples)."""

    def resized(tensor: torch.Tensor) -> torch.Tensor:
        reps = -(-size // tensor.shape[0])
        return tensor.repeat(reps, *([1] * (tensor.dim() - 1)))[:size]

    return map_inputs(inputs, resized)


def shapes_text(inputs: Inputs) -> str:
    """`(2, 16) int64, (2, 16) int64` (one tensor: its shape only, as before)."""
    tensors = as_tuple(inputs)
    if len(tensors) == 1 and tensors[0].is_floating_point():
        return str(tuple(tensors[0].shape))
    return ", ".join(f"{tuple(t.shape)} {dtype_name(t.dtype)}" for t in tensors)


# Reading a signature: from a program, an ONNX file, data, the flags.


def program_signature(model: Any) -> Signature | None:
    """The inputs a loaded `torch.export` program records (placeholder names, dtypes, shapes,
    symbolic dims with their ranges), or None when `model` is not such a program."""
    from accel.compress.artifacts import is_program_module

    if not is_program_module(model):
        return None
    specs = []
    for node in model.graph.nodes:
        value = node.meta.get("val") if node.op == "placeholder" else None
        if isinstance(value, torch.Tensor):
            dims = [dim_of(size) for size in value.shape]
            specs.append(
                InputSpec(
                    name=node.name,
                    dtype=value.dtype,
                    shape=tuple(d[0] for d in dims),
                    sizes=tuple(d[1] for d in dims),
                    ranges=tuple(d[2] for d in dims),
                )
            )
    return Signature(inputs=tuple(specs), source="the program") if specs else None


def dim_of(size: Any) -> tuple[Size, int, Range | None]:
    """(shape entry, example size, range) of one recorded dimension: an int is fixed; a
    symbolic size keeps its symbol's name, its export-time size and its recorded range."""
    if isinstance(size, int):
        return size, size, None
    node = getattr(size, "node", None)
    expr = getattr(node, "expr", None)
    hint = as_int(getattr(node, "hint", None))
    bounds = getattr(getattr(node, "shape_env", None), "var_to_range", {}).get(expr)
    if bounds is None:
        return str(expr), hint or 2, (0, None)
    low = as_int(bounds.lower) or 0
    return str(expr), hint or max(low, 2), (low, as_int(bounds.upper))


def as_int(value: Any) -> int | None:
    """A sympy bound as an int; None for infinity (torch's `int_oo` has no int value)."""
    try:
        return int(value)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None


def onnx_signature(path: Any) -> Signature:
    """The inputs an ONNX file declares (initializers aside): names, dtypes, dims (a named or
    unnamed dim is dynamic; its size unknown, 0, but the batch's: 1)."""
    import numpy as np
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    weights = {t.name for t in model.graph.initializer}
    specs = []
    for value in model.graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        numpy_type = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        dims = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in tensor.shape.dim
        ]
        specs.append(
            InputSpec(
                name=value.name,
                dtype=torch.from_numpy(np.zeros(0, numpy_type)).dtype,
                shape=tuple(dims),
                sizes=tuple(d if isinstance(d, int) else int(i == 0) for i, d in enumerate(dims)),
                ranges=tuple(None if isinstance(d, int) else (1, None) for d in dims),
            )
        )
    return Signature(inputs=tuple(specs), source=f"the ONNX file {path}")


def data_signature(inputs: Inputs, names: Sequence[str] | None, source: str) -> Signature:
    """The signature a batch of data shows: its tensors' dtypes and sample shapes, the batch
    dynamic, named after the model's inputs (`names`) where known."""
    known = list(names or [])
    specs = []
    for index, tensor in enumerate(as_tuple(inputs)):
        name = known[index] if index < len(known) else f"input_{index}"
        shape: tuple[Size, ...] = ("batch", *tensor.shape[1:]) if tensor.dim() else ()
        specs.append(
            InputSpec(
                name=name,
                dtype=tensor.dtype,
                shape=shape,
                sizes=tuple(tensor.shape),
                ranges=((1, None), *[None] * (tensor.dim() - 1)) if tensor.dim() else (),
            )
        )
    return Signature(inputs=tuple(specs), source=source)


def shape_signature(shape: tuple[int, ...]) -> Signature:
    """`--input-shape N,C,H,W`: one float32 input with a dynamic batch."""
    spec = InputSpec(
        name="input",
        dtype=torch.float32,
        shape=("batch", *shape[1:]),
        sizes=tuple(shape),
        ranges=((1, None), *[None] * (len(shape) - 1)),
    )
    return Signature(inputs=(spec,), source="--input-shape")


def parse_input_spec(value: Any, key: str) -> Signature | None:
    """`input_ids:int64[1,128],attention_mask:int64[1,128]` -> a Signature (None stays None).
    The first size is the batch (always dynamic); `seq=128` marks another dynamic dim."""
    if value is None:
        return None
    text = "".join(str(value).split())
    parts = split_parts(text)
    if not 1 <= len(parts) <= MAX_INPUTS:
        raise spec_error(key, value, f"expected 1 to {MAX_INPUTS} inputs")
    specs = tuple(parse_part(part, key, value) for part in parts)
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise spec_error(key, value, f"input {repeated[0]!r} is named twice")
    if len({s.sizes[0] for s in specs}) > 1:
        raise spec_error(key, value, "every input needs the same batch size (the first size)")
    return Signature(inputs=specs, source=key)


def split_parts(text: str) -> list[str]:
    """Split at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def parse_part(part: str, key: str, value: Any) -> InputSpec:
    """One `name:dtype[sizes]` of `--input-spec`."""
    match = SPEC_PART.match(part)
    if not match:
        raise spec_error(key, value, f"{part!r} is not NAME:DTYPE[SIZES]")
    name, dtype, dims = match.groups()
    if dtype not in DTYPES:
        raise spec_error(
            key, value, f"dtype {dtype!r} of {name!r} is not one of {', '.join(DTYPES)}"
        )
    shape, sizes = parse_dims(dims.split(","), part, key, value)
    if sizes[0] > MAX_BATCH or math.prod(sizes[1:]) > MAX_SAMPLE:
        raise spec_error(
            key,
            value,
            f"{part}: expected a batch of at most {MAX_BATCH} and samples of at most "
            f"{MAX_SAMPLE:,} elements",
        )
    ranges = tuple(None if isinstance(s, int) else (1, None) for s in shape)
    return InputSpec(name=name, dtype=DTYPES[dtype], shape=shape, sizes=sizes, ranges=ranges)


def parse_dims(
    dims: list[str], part: str, key: str, value: Any
) -> tuple[tuple[Size, ...], tuple[int, ...]]:
    """Sizes `1,128` or `1,seq=128` -> (shape, sizes); the first dim is the dynamic batch."""
    if not 1 <= len(dims) <= MAX_DIMS:
        raise spec_error(key, value, f"{part}: expected 1 to {MAX_DIMS} sizes")
    shape: list[Size] = []
    sizes: list[int] = []
    for index, dim in enumerate(dims):
        label, _, number = dim.rpartition("=")
        if not number.isdigit() or int(number) <= 0 or (label and not label.isidentifier()):
            raise spec_error(key, value, f"{part}: size {dim!r} is not a positive whole number")
        sizes.append(int(number))
        shape.append("batch" if index == 0 else (label or int(number)))
    return tuple(shape), tuple(sizes)


def spec_error(key: str, value: Any, problem: str) -> ConfigError:
    return ConfigError(
        f"{key} {value!r}: {problem}: expected NAME:DTYPE[SIZES] separated by commas, e.g. "
        f"{SPEC_EXAMPLE} (the first size is the batch; seq=128 marks a dynamic size; dtypes: "
        f"{', '.join(DTYPES)})"
    )


# What a model says about its inputs without data.


def declared_signature(model: Any) -> Signature | None:
    """The signature a model states itself: a `torch.export` program's, an ONNX file's, a
    transformers model's (from its config, `accel.compress.hf`); None for a plain module (its
    forward states no dtypes nor shapes)."""
    from accel.compress.artifacts import OnnxModel
    from accel.compress.hf import model_input_signature

    if isinstance(model, OnnxModel):
        return onnx_signature(model.path)
    own = program_signature(model)
    if own is not None or not isinstance(model, torch.nn.Module):
        return own
    specs = model_input_signature(model)
    if not specs:
        return None
    inputs = tuple(
        InputSpec(name=s.name, dtype=s.dtype, shape=s.shape, sizes=s.sizes, ranges=s.ranges)
        for s in specs
    )
    return Signature(inputs=inputs, source="the model's config")


def input_names(model: Any) -> list[str] | None:
    """The names of the model's positional inputs, in order (None when it does not say)."""
    declared = declared_signature(model)
    if declared is not None:
        return declared.names
    forward = getattr(model, "forward", None)
    try:
        parameters = inspect.signature(forward).parameters.values()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        schema = getattr(forward, "schema", None)  # TorchScript states its arguments here
        return [a.name for a in schema.arguments[1:]] if schema is not None else None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in parameters if p.kind in kinds]
    return names or None


def vocabulary(model: Any) -> int | None:
    """Rows of the model's first embedding table (token ids must lie below it), or None: a
    module's first `nn.Embedding` (TorchScript's too), or a program's first embedding op."""
    from accel.compress.artifacts import is_program_module

    if is_program_module(model):
        for node in model.graph.nodes:
            if node.op == "call_function" and node.target is torch.ops.aten.embedding.default:
                weight = node.args[0].meta.get("val") if node.args else None
                return int(weight.shape[0]) if weight is not None else None
        return None
    if not isinstance(model, torch.nn.Module):
        return None
    for module in model.modules():
        if isinstance(module, torch.nn.Embedding):
            return int(module.num_embeddings)
        weight = getattr(module, "weight", None)
        if getattr(module, "original_name", None) == "Embedding" and weight is not None:
            return int(weight.shape[0])  # a TorchScript submodule
    return None
