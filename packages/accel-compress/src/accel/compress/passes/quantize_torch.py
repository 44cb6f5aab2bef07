"""int8 in torch: PT2E with the x86 inductor quantizer, and torchao for Linear layers."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from accel.compress.artifacts import set_eval
from accel.compress.data import inputs_of
from accel.compress.passes.export import trace_program
from accel.compress.signature import Inputs, Signature, as_tuple
from accel.core.errors import ConfigError


def quantize_pt2e(
    model: nn.Module,
    example: Inputs,
    data: Iterable[Any] | None,
    limit: int,
    compile: bool = True,
    signature: Signature | None = None,
    reduce_range: bool = False,
) -> nn.Module:
    """Export, insert observers, calibrate on real batches, convert; optionally compile.

    The batch dimension is exported dynamic (example batch >= 2), as `export` does it. A ReLU
    module reused twice in a block is rejected by the quantizer: give each use its own module.
    `reduce_range`: 7-bit activations, for a CPU whose int8 kernels saturate (no VNNI: see
    `quantize_ort.saturates`); inductor's compiled int8 Linear of a digits MLP read output
    error 0.062 with 8 bits and 0.004 with 7 on an AVX2-only CPU (eager: 0.003 either way).
    """
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

    assert data is not None
    program = trace_program(set_eval(model), example, signature)
    quantizer = X86InductorQuantizer()
    quantizer.set_global(get_default_x86_inductor_quantization_config(reduce_range=reduce_range))
    prepared = prepare_pt2e(program.module(), quantizer)
    with torch.no_grad():
        for item in itertools.islice(iter(data), limit):
            prepared(*as_tuple(inputs_of(item)))
    converted = drop_unused_weights(convert_pt2e(prepared))
    return compiled(converted) if compile else converted


def drop_unused_weights(graph: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Delete the float weights a converted graph no longer reads (it reads their int8 copies):
    left in place they would be saved too, and the int8 model would be bigger than the float."""
    used = {str(node.target) for node in graph.graph.nodes if node.op == "get_attr"}
    names = [name for name, _ in itertools.chain(graph.named_parameters(), graph.named_buffers())]
    for name in names:
        if name not in used:
            owner, _, attr = name.rpartition(".")
            delattr(graph.get_submodule(owner) if owner else graph, attr)
    graph.delete_all_unused_submodules()
    return graph


def quantize_torchao(model: nn.Module, compile: bool = True, bits: int = 8) -> nn.Module:
    """int8 dynamic activations + int8 weights for every `nn.Linear` (torchao); convs stay.

    `bits=4`: int4 weight-only, which needs a CUDA GPU (its kernels are GPU kernels).
    """
    from torchao.quantization import (
        Int4WeightOnlyConfig,
        Int8DynamicActivationInt8WeightConfig,
        quantize_,
    )

    if bits == 4:
        if not torch.cuda.is_available():
            raise ConfigError(
                "int4 weight-only needs a CUDA GPU and none is available: use --quantize int8"
            )
        quantize_(set_eval(model).cuda(), Int4WeightOnlyConfig())
        return compiled(model) if compile else model
    quantize_(set_eval(model), Int8DynamicActivationInt8WeightConfig())
    return compiled(model) if compile else model


def compiled(model: nn.Module) -> nn.Module:
    """torch.compile with inductor freezing (folds weights and int8 patterns into kernels).

    Static shapes (one graph per batch size): on a second batch size, a dynamic-batch graph of
    inductor's int8 conv lowering fails its own stride check (seen with torch 2.15 on a
    ResNet-20), and static int8 kernels are the fast ones anyway.
    """
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True
    return torch.compile(model, dynamic=False)  # type: ignore[return-value]
