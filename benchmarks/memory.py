"""Gradient checkpointing: peak training memory of a ResNet-18-style model at 224², with and
without `trainer.gradient_checkpointing` (accel.core.runtime.activation_checkpointing).

Each configuration runs one forward + backward in its own fresh subprocess (interleaved, order
flipped each round), so each has its own peak. Three measures per run:

- `saved_mib`: bytes autograd keeps for the backward pass (saved-tensor hooks see every saved
  tensor; each storage counted once, parameters included): the activation memory itself,
  exact and noise-free; with checkpointing, mostly the blocks' inputs.
- `peak_rss_mib`: on CPU, the highest resident set size of the process during the step
  (sampled every millisecond by a thread, psutil) minus its resident set just before it
  (model, optimizer and input already built). torch's CPU allocator takes large blocks from
  the OS and gives them back, so RSS follows its allocations (with glibc's mmap threshold
  fixed in the child, see MMAP_THRESHOLD); tracemalloc would see none of them.
- on CUDA, `peak_cuda_mib`: torch.cuda.max_memory_allocated during the step minus before it.

Prints JSON with both runs and the ratios checkpointed / plain (target: activations >= 30%
less). RSS is noisy on a shared machine (other processes do not add to it, but the allocator's
caching does): trust `saved_mib` first.

    uv run python benchmarks/memory.py [--batch 16] [--size 224] [--rounds 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

# glibc serves allocations above this size with mmap and unmaps them when freed. Left to
# itself it raises the threshold after frees, and freed tensor memory then stays in the heap
# (in RSS) and RSS shows the heap's high-water mark, not live memory; fixed, RSS follows it.
MMAP_THRESHOLD = 64 * 1024


def measure(checkpointing: bool, batch: int, size: int, device: str) -> dict[str, float]:
    """One training step of ResNet-18 (accel-cv), in this process."""
    import psutil
    import torch

    from accel.core.runtime.activation_checkpointing import enable_checkpointing
    from accel.cv.models.resnet import resnet18

    torch.manual_seed(0)
    model = resnet18(num_classes=10).to(device).train()
    if checkpointing:
        enable_checkpointing(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    saved: dict[int, int] = {}  # storage address -> bytes: a tensor saved twice counts once

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    process = psutil.Process()
    rss_before, peak, running = process.memory_info().rss, [0], [True]

    def sample() -> None:
        while running[0]:
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        cuda_before = torch.cuda.memory_allocated()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    running[0] = False
    sampler.join()
    result = {"saved_mib": sum(saved.values()) / 2**20}
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        result["peak_cuda_mib"] = (torch.cuda.max_memory_allocated() - cuda_before) / 2**20
    else:
        result["peak_rss_mib"] = (peak[0] - rss_before) / 2**20
    return result


def run_child(checkpointing: bool, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(int(checkpointing))]
    command += ["--batch", str(args.batch), "--size", str(args.size), "--device", args.device]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD)}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", type=int, choices=(0, 1))
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(bool(args.child), args.batch, args.size, args.device)))
        return
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for index in range(args.rounds):
        for flag in (False, True) if index % 2 == 0 else (True, False):
            runs[flag].append(run_child(flag, args))
    report: dict[str, Any] = {
        "model": "resnet18 (accel-cv)",
        "input": [args.batch, 3, args.size, args.size],
        "device": args.device,
        "rounds": args.rounds,
    }
    for key in runs[False][0]:
        plain = statistics.median(r[key] for r in runs[False])
        checkpointed = statistics.median(r[key] for r in runs[True])
        report[key] = {
            "plain": round(plain, 1),
            "checkpointed": round(checkpointed, 1),
            "ratio": round(checkpointed / plain, 3),
            "spread": [round(r[key], 1) for r in runs[False] + runs[True]],
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
