"""Parameters and multiply-accumulates (MACs) of a model.

MACs come from `torch.utils.flop_counter.FlopCounterMode`, which sees the aten ops a forward
pass runs, so it counts a plain module, a `torch.export` program's module, a PT2E int8 graph
and a compiled module alike. What it counts: matrix multiplies (linear, matmul, bmm, int8
`_int_mm`), convolutions and attention; one MAC is two FLOPs. What it does not count: bias
adds, normalization, activations, pooling and other element-wise work (cheap beside the
multiplies, and what a backend fuses away).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class MacCount:
    """MACs of one forward pass: `total`, and `by_module[name]` for every named module
    (children included, "" the whole model; 0 for a module that ran no counted op)."""

    total: int
    by_module: dict[str, int]


def int8_matmul_flops(a_shape: Any, b_shape: Any, *args: Any, **kwargs: Any) -> int:
    """FLOPs of `aten._int_mm` (torchao's int8 Linear), which torch's counter has no formula
    for: those of the float matmul it replaces."""
    (m, k), (_, n) = a_shape, b_shape
    return 2 * m * k * n


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Elements of `model`'s weights, each tensor once (tied weights count once): its
    parameters, and the int8 weights a converted graph (PT2E) keeps as buffers. A model with
    no parameters at all keeps every weight as a buffer: its floating-point buffers count too.
    `trainable_only`: the parameters that require gradients, nothing else."""
    if trainable_only:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)
    params = sum(p.numel() for p in model.parameters())
    weights = [
        b
        for b in model.buffers()
        if b.dtype == torch.int8 or (params == 0 and b.is_floating_point())
    ]
    return params + sum(b.numel() for b in weights)


def count_macs(model: nn.Module, example_inputs: Any) -> int:
    """MACs of one forward pass on `example_inputs` (pass one sample for MACs per sample)."""
    return trace_macs(model, example_inputs).total


def trace_macs(model: nn.Module, example_inputs: Any) -> MacCount:
    """MACs of one forward pass on `example_inputs` (a tensor, or a tuple of positional
    inputs), in total and per module. Runs the model once, without gradients and in the mode
    it is in (put it in eval mode first: a training BatchNorm would update its statistics)."""
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    counter = FlopCounterMode(
        display=False, custom_mapping={torch.ops.aten._int_mm: int8_matmul_flops}
    )
    with warnings.catch_warnings():  # a compiled module warns about the counter's module hooks
        warnings.filterwarnings("ignore", message=".*global hooks on modules")
        with torch.no_grad(), counter:
            model(*args)
    flops = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    root = type(model).__name__
    by_module = {
        name: flops.get(f"{root}.{name}" if name else root, 0) // 2
        for name, _ in model.named_modules(remove_duplicate=False)
    }
    return MacCount(total=counter.get_total_flops() // 2, by_module=by_module)
