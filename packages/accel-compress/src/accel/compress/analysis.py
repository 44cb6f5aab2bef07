"""Measure an artifact (a torch module, an ONNX file, a torch.export program): parameters,
MACs, size and latency on this machine.

The counting and timing are accel-core's (`accel.core.analysis`), the same for `accel
analyze-model`; what is here opens the artifacts torch cannot measure alone (ONNX weights,
model files) and runs each through its `Runner`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.compress.artifacts import ExportedModel, OnnxModel, OpenVinoModel, Runner
from accel.compress.signature import Inputs, batch_of, batch_size, head
from accel.core import analysis as core

WARMUP_S = 0.5  # warm-up time before a measure: thread pools, caches, compiled kernels settle
BUDGET_S = 3.0  # a slow model gets fewer repeats (3 at least) so one measure stays near this
COMPARE_BUDGET_S = 4.0  # the same for the rounds of a side-by-side comparison


def count_params(artifact: Any) -> int:
    """Number of weights (ONNX: elements of its weight tensors, quantization scales excluded)."""
    if isinstance(artifact, nn.Module):
        return core.count_parameters(artifact)
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


def count_macs(model: nn.Module, example_inputs: Inputs) -> int | None:
    """Multiply-accumulates of one forward pass per sample (accel-core's counter, at batch 1;
    a program with a fixed larger batch: its batch's count over its size); None when the
    model runs on neither."""
    for batch in (head(example_inputs, 1), example_inputs):
        try:
            return core.count_macs(model, batch) // batch_size(batch)
        except Exception:  # a model that refuses the batch: try the next, else no MACs
            continue
    return None


def size_on_disk(artifact: Any) -> int:
    """Bytes of the model's files (ONNX with its `.data` files); of a module, the bytes of
    its weights (what a file of them holds, its header aside)."""
    if isinstance(artifact, OnnxModel | ExportedModel | OpenVinoModel):
        return core.file_bytes(p for p in artifact.files() if p.exists())
    return core.state_bytes(artifact)


def latency_ms(
    artifact: Any,
    inputs: Inputs,
    *,
    warmup: int = 2,
    repeats: int = 10,
    budget_s: float = BUDGET_S,
) -> dict[str, Any]:
    """Wall time of one call on `inputs` (median, min, max of up to `repeats` after at least
    `warmup` calls and `WARMUP_S`), with threads, CPU time per call and the load average.

    Slow calls get fewer repeats (3 at least, never more than asked) so one measurement stays
    near `budget_s`. Thread count is torch's (ORT sessions are given the same number).
    """
    run = Runner(artifact)
    measured = core.measure_latency(
        run, inputs, repeats=repeats, warmup=warmup, warmup_s=WARMUP_S, budget_s=budget_s
    )
    return {
        **measured.as_dict(),
        "batch": batch_size(inputs),
        "threads": run.threads,
        "runtime": runtime_of(artifact),
    }


def compare_latency(
    before: Any,
    after: Any,
    inputs: Inputs,
    *,
    rounds: int = 10,
    budget_s: float = COMPARE_BUDGET_S,
) -> dict[str, Any]:
    """`before` and `after` timed side by side (accel-core's `compare_latency`: one call of
    each per round, the order flipped every round, the speed-up the median of the per-round
    ratios), at most `rounds` rounds in about `budget_s`."""
    runs = (Runner(before), Runner(after))
    compared = core.compare_latency(
        *runs, inputs, rounds=rounds, warmup=1, warmup_s=WARMUP_S, budget_s=budget_s
    )
    return {**compared.as_dict(), "batch": batch_size(inputs), "threads": runs[0].threads}


def runtime_of(artifact: Any) -> str:
    """What runs `artifact` when it is timed or checked."""
    if isinstance(artifact, OnnxModel):
        return "onnxruntime"
    return "openvino" if isinstance(artifact, OpenVinoModel) else "torch"


def analyze(
    artifact: Any,
    example_inputs: Inputs,
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
