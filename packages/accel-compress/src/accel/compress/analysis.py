"""Measure a model: parameters, MACs, size on disk, latency on this machine."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.compress.artifacts import ExportedModel, OnnxModel, Runner


def count_params(artifact: Any) -> int:
    """Number of weights (ONNX: elements of its weight tensors, quantization scales excluded)."""
    if isinstance(artifact, nn.Module):
        return sum(p.numel() for p in artifact.parameters()) or sum(
            b.numel() for b in artifact.buffers() if b.is_floating_point() or b.dtype == torch.int8
        )
    if isinstance(artifact, OnnxModel):
        return onnx_param_count(artifact.path)
    return int(artifact.meta.get("params", 0))


def onnx_param_count(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    total = 0
    for tensor in model.graph.initializer:
        if tensor.name.endswith(("_scale", "_zero_point")) or len(tensor.dims) == 0:
            continue
        count = 1
        for d in tensor.dims:
            count *= d
        total += count
    return total


def count_macs(model: nn.Module, example_inputs: torch.Tensor) -> int | None:
    """Multiply-accumulates of one forward pass at batch 1 (torch-pruning's counter)."""
    import torch_pruning as tp

    try:
        macs, _ = tp.utils.count_ops_and_params(model, example_inputs[:1])
    except Exception:  # exotic modules the counter cannot trace: report no MACs, not a crash
        return None
    return int(macs) or None  # 0 means the counter saw no layers (e.g. an exported program)


def size_on_disk(artifact: Any) -> int:
    """Bytes of the model's files (ONNX with its `.data` files; a module as safetensors)."""
    if isinstance(artifact, OnnxModel | ExportedModel):
        return sum(p.stat().st_size for p in artifact.files() if p.exists())
    from safetensors.torch import save_file

    state = {
        name: tensor.contiguous()
        for key, value in artifact.state_dict().items()
        if torch.is_tensor(value)
        for name, tensor in plain_tensors(key, value)
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "weights.safetensors"
        save_file(dedupe(state), str(path))
        return path.stat().st_size


def plain_tensors(name: str, value: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """The plain tensors a tensor subclass (torchao's int8 weights) is made of, by name; a
    plain tensor is itself. What is stored is what they hold (int8 data, scales)."""
    flatten = getattr(value, "__tensor_flatten__", None)
    if flatten is None:
        return [(name, value)]
    attributes, _ = flatten()
    return [
        pair
        for attr in attributes
        for pair in plain_tensors(f"{name}.{attr}", getattr(value, attr))
    ]


def dedupe(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Clone tensors that share storage, which safetensors refuses to save."""
    seen: set[int] = set()
    out = {}
    for key, value in state.items():
        ptr = value.untyped_storage().data_ptr()
        out[key] = value.clone() if ptr in seen else value
        seen.add(ptr)
    return out


def latency_ms(
    artifact: Any,
    inputs: torch.Tensor,
    *,
    warmup: int = 2,
    repeats: int = 10,
    budget_s: float = 3.0,
) -> dict[str, Any]:
    """Median wall time of one call on `inputs` after `warmup` calls, with the thread count.

    Slow calls get fewer repeats (at least 3) so one measurement stays near `budget_s`.
    Thread count is torch's (ORT sessions are given the same number).
    """
    run = Runner(artifact)
    last = warm_up(run, inputs, warmup)
    repeats = max(3, min(repeats, int(budget_s / max(last, 1e-6))))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(inputs)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "batch": int(inputs.shape[0]),
        "repeats": repeats,
        "warmup": warmup,
        "threads": run.threads,
        "runtime": "onnxruntime" if isinstance(artifact, OnnxModel) else "torch",
    }


def compare_latency(
    before: Any, after: Any, inputs: torch.Tensor, *, rounds: int = 10, budget_s: float = 4.0
) -> dict[str, Any]:
    """`before` and `after` timed side by side: one call of each per round, the order flipped
    every round, so a busy machine slows both alike. The speed-up is the median of the
    per-round ratios (robust where two separate medians are not)."""
    runs = (Runner(before), Runner(after))
    last = sum(warm_up(run, inputs, 1) for run in runs)
    rounds = max(3, min(rounds, int(budget_s / max(last, 1e-6))))
    times: tuple[list[float], list[float]] = ([], [])
    for index in range(rounds):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for which in order:
            start = time.perf_counter()
            runs[which](inputs)
            times[which].append((time.perf_counter() - start) * 1000)
    ratios = [a / b for a, b in zip(*times, strict=True) if b > 0]
    return {
        "before_ms": statistics.median(times[0]),
        "after_ms": statistics.median(times[1]),
        "speedup": statistics.median(ratios),
        "rounds": rounds,
        "batch": int(inputs.shape[0]),
        "threads": runs[0].threads,
    }


def warm_up(
    run: Runner, inputs: torch.Tensor, calls: int, seconds: float = 0.5, slow: float = 1.0
) -> float:
    """Call at least `calls` times and for at least `seconds` (thread pools, caches, compiled
    kernels settle); a call slower than `slow` seconds after the first is warm enough (a big
    model at batch 32 gains nothing from more). Returns the last call's duration (s)."""
    begin = time.perf_counter()
    last, done = 0.0, 0
    while done < calls or (time.perf_counter() - begin < seconds and done < 200):
        start = time.perf_counter()
        run(inputs)
        last = time.perf_counter() - start
        done += 1
        if done >= 2 and last > slow:
            break
    return last


def batch_of(example: torch.Tensor, size: int) -> torch.Tensor:
    """`example` repeated or cut to `size` samples (same sample shape)."""
    reps = -(-size // example.shape[0])
    return example.repeat(reps, *([1] * (example.dim() - 1)))[:size]


def analyze(
    artifact: Any,
    example_inputs: torch.Tensor,
    *,
    batches: tuple[int, ...] = (1, 32),
    repeats: int = 10,
    macs: int | None = None,
) -> dict[str, Any]:
    """Parameters, MACs, bytes on disk and latency at each batch size, in one dict."""
    if isinstance(artifact, nn.Module) and macs is None:
        macs = count_macs(artifact, example_inputs)
    result: dict[str, Any] = {
        "params": count_params(artifact),
        "macs": macs,
        "size_bytes": size_on_disk(artifact),
        "threads": torch.get_num_threads(),
        "latency": {},
    }
    for size in batches:
        result["latency"][str(size)] = latency_ms(
            artifact, batch_of(example_inputs, size), repeats=repeats
        )
    return result
