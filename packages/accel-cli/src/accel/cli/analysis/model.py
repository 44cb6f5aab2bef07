"""Parameters, MACs, a per-layer table and latency of a model on this machine."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


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
    """What `accel analyze-model` reports; `to_dict` is plain JSON."""

    input_shape: list[int]
    params: int
    trainable_params: int
    macs: int
    size_mb: float
    latency_ms: dict[str, float] = field(default_factory=dict)
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
    layers = per_layer(model, sample)
    return ModelAnalysis(
        input_shape=list(sample.shape),
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        macs=sum(layer.macs for layer in layers),
        size_mb=round(state_bytes(model) / 2**20, 4),
        latency_ms={f"batch_{b}": measure_latency(model, sample, b, runs) for b in batch_sizes},
        threads=torch.get_num_threads(),
        layers=layers,
    )


def per_layer(model: nn.Module, sample: torch.Tensor) -> list[Layer]:
    """Leaf modules with MACs (FLOPs / 2, from torch's FlopCounterMode) and output shapes."""
    shapes: dict[str, list[int]] = {}
    leaves = {n: m for n, m in model.named_modules() if n and not list(m.children())}
    hooks = [
        m.register_forward_hook(lambda _m, _i, out, n=n: shapes.__setitem__(n, _shape(out)))
        for n, m in leaves.items()
    ]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(sample)
    finally:
        for hook in hooks:
            hook.remove()
    counts = counter.get_flop_counts()
    root = type(model).__name__
    return [
        Layer(
            name=name,
            type=type(module).__name__,
            params=sum(p.numel() for p in module.parameters(recurse=False)),
            macs=int(sum(counts.get(f"{root}.{name}", {}).values()) // 2),
            output_shape=shapes.get(name, []),
        )
        for name, module in leaves.items()
    ]


def measure_latency(model: nn.Module, sample: torch.Tensor, batch: int, runs: int) -> float:
    """Median wall time of one forward pass at `batch` in ms, after 3 warm-up passes."""
    inputs = sample.expand(batch, *sample.shape[1:]).contiguous()
    times = []
    with torch.no_grad():
        for i in range(runs + 3):
            start = time.perf_counter()
            model(inputs)
            if i >= 3:
                times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 4)


def state_bytes(model: nn.Module) -> int:
    """Bytes of parameters and buffers (what a float checkpoint of the weights holds)."""
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def _shape(output: Any) -> list[int]:
    if isinstance(output, torch.Tensor):
        return list(output.shape)
    if isinstance(output, list | tuple) and output and isinstance(output[0], torch.Tensor):
        return list(output[0].shape)
    return []
