"""Parameters, MACs, a per-layer table and latency of a model on this machine.

Every figure comes from accel-core's analysis (`accel.core.analysis`), so `accel analyze-model`
and `accel compress analyze` report the same MACs, parameters and size for the same model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from accel.core import analysis as core

WARMUP_CALLS = 3  # untimed passes before each timed batch size


@dataclass
class Layer:
    """One leaf module: its name, type, parameters, MACs and output shape."""

    name: str
    type: str
    params: int
    macs: int
    output_shape: list[int]


@dataclass
class ModelAnalysis:
    """What `accel analyze-model` reports; `to_dict` is plain JSON. `latency_ms` holds the
    median per batch size, `latency` the whole measure (min, max, CPU time, load average)."""

    input_shape: list[int]
    params: int
    trainable_params: int
    macs: int
    size_mb: float
    size_bytes: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    latency: dict[str, dict[str, Any]] = field(default_factory=dict)
    threads: int = 1
    layers: list[Layer] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def analyze_model(
    model: nn.Module, example: torch.Tensor, batch_sizes: tuple[int, ...] = (1, 32), runs: int = 20
) -> ModelAnalysis:
    """Analyze `model` on inputs shaped like `example` (one sample with its batch dim)."""
    model.eval()
    sample = example[:1]
    macs, layers = per_layer(model, sample)
    size = core.state_bytes(model)
    latency = {f"batch_{b}": batch_latency(model, sample, b, runs) for b in batch_sizes}
    return ModelAnalysis(
        input_shape=list(sample.shape),
        params=core.count_parameters(model),
        trainable_params=core.count_parameters(model, trainable_only=True),
        macs=macs,
        size_mb=round(size / 2**20, 4),
        size_bytes=size,
        latency_ms={batch: round(entry["median_ms"], 4) for batch, entry in latency.items()},
        latency=latency,
        threads=torch.get_num_threads(),
        layers=layers,
    )


def per_layer(model: nn.Module, sample: torch.Tensor) -> tuple[int, list[Layer]]:
    """The model's MACs, and its leaf modules with their MACs and output shapes (one pass)."""
    shapes: dict[str, list[int]] = {}
    leaves = {n: m for n, m in model.named_modules() if n and not list(m.children())}
    hooks = [
        m.register_forward_hook(lambda _m, _i, out, n=n: shapes.__setitem__(n, _shape(out)))
        for n, m in leaves.items()
    ]
    try:
        counted = core.trace_macs(model, sample)
    finally:
        for hook in hooks:
            hook.remove()
    layers = [
        Layer(
            name=name,
            type=type(module).__name__,
            params=sum(p.numel() for p in module.parameters(recurse=False)),
            macs=counted.by_module[name],
            output_shape=shapes.get(name, []),
        )
        for name, module in leaves.items()
    ]
    return counted.total, layers


def batch_latency(model: nn.Module, sample: torch.Tensor, batch: int, runs: int) -> dict[str, Any]:
    """accel-core's latency measure of one forward pass at `batch`: `runs` timed passes
    after `WARMUP_CALLS` untimed ones (median, min, max in ms, CPU time, load average)."""
    inputs = sample.expand(batch, *sample.shape[1:]).contiguous()
    return core.measure_latency(model, inputs, repeats=runs, warmup=WARMUP_CALLS).as_dict()


def _shape(output: Any) -> list[int]:
    if isinstance(output, torch.Tensor):
        return list(output.shape)
    if isinstance(output, list | tuple) and output and isinstance(output[0], torch.Tensor):
        return list(output[0].shape)
    return []
