"""Loop overhead: a hand-written PyTorch loop vs accel's Trainer with its default callbacks.

Both train the same MLP on the same synthetic data. Time: one epoch of each, alternating
(interleaved, order flipped each round) in one process, so machine noise hits both alike;
accel runs a full `fit` per epoch with its default callbacks (progress bar, metric logger,
checkpoint at each epoch end, LR monitor). Memory: separate subprocesses (interleaved too),
one per run, so each has its own peak. Prints JSON with the median step-time ratio
(accel / hand) and the peak-memory ratio. Targets: time <= 1.02, memory <= 1.05.

    uv run python benchmarks/loop_overhead.py [--rounds 10] [--steps 100] [--memory-rounds 2]

Step time = time between the ends of consecutive training steps (data loading included; the
epoch boundary, where accel validates and checkpoints, is outside the median and shows in
`epoch_time_ratio`). Peak memory = the process's peak RSS on CPU, or peak CUDA memory
allocated on a GPU; both workers import the same modules first, so the ratio is the cost of
the training loop, not of library imports.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any


def build(steps: int, batch: int, seed: int = 0) -> tuple[Any, Any, Any]:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(seed)
    x = torch.randn(steps * batch, 256)
    y = torch.randint(0, 10, (steps * batch,))
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    model = torch.nn.Sequential(
        torch.nn.Linear(256, 512),
        torch.nn.ReLU(),
        torch.nn.Linear(512, 512),
        torch.nn.ReLU(),
        torch.nn.Linear(512, 10),
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return model, loader, optimizer


def peak_memory(device: Any) -> int:
    import resource

    import torch

    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def hand_loop(model: Any, loader: Any, optimizer: Any, epochs: int, device: Any) -> list[float]:
    import torch.nn.functional as F

    model.to(device)
    model.train()
    ends = []
    for _ in range(epochs):
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            ends.append(time.perf_counter())
    return ends


def accel_loop(model: Any, loader: Any, optimizer: Any, epochs: int, device: Any) -> list[float]:
    from accel.core.callbacks import Callback
    from accel.core.runtime import Trainer

    ends: list[float] = []

    class StepClock(Callback):
        priority = "lowest"

        def on_batch_end(self, state: Any) -> None:
            ends.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(
            max_epochs=epochs, run_dir=run_dir, device=device.type, callbacks=[StepClock()]
        )  # + defaults: progress, logger, checkpoint, lr
        trainer.fit(model, loader, optimizer=optimizer, loss="cross_entropy")
    return ends


def step_times(ends: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(ends)]


def time_interleaved(args: argparse.Namespace) -> dict[str, Any]:
    """Alternate one epoch of each loop, `rounds` times, on its own copy of model and data."""
    import torch

    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    setups = {kind: build(args.steps, args.batch) for kind in ("hand", "accel")}
    loops = {"hand": hand_loop, "accel": accel_loop}
    medians: dict[str, list[float]] = {"hand": [], "accel": []}
    epochs: dict[str, list[float]] = {"hand": [], "accel": []}
    for round_ in range(args.rounds + 1):  # round 0 warms up both
        for kind in ("hand", "accel") if round_ % 2 == 0 else ("accel", "hand"):
            start = time.perf_counter()
            ends = loops[kind](*setups[kind], 1, device)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if round_:
                medians[kind].append(statistics.median(step_times(ends)))
                epochs[kind].append(time.perf_counter() - start)
    ratios = [a / h for h, a in zip(medians["hand"], medians["accel"], strict=True)]
    return {
        "step_time_ratio_min": round(min(medians["accel"]) / min(medians["hand"]), 4),
        "device": device.type,
        "hand_median_step_ms": round(statistics.median(medians["hand"]) * 1e3, 4),
        "accel_median_step_ms": round(statistics.median(medians["accel"]) * 1e3, 4),
        "step_time_ratio": round(statistics.median(ratios), 4),
        "step_time_ratio_per_round": [round(r, 4) for r in ratios],
        "epoch_time_ratio": round(
            statistics.median(epochs["accel"]) / statistics.median(epochs["hand"]), 4
        ),
    }


class RssSampler:
    """Peak resident memory of this process while a block runs (sampled every 1 ms)."""

    def __enter__(self) -> RssSampler:
        import threading

        import psutil

        self._process = psutil.Process()
        self.start = self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def worker(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """One full run in a fresh process: its peak memory, and how much training added."""
    import torch

    import accel.core.callbacks.checkpoint  # both workers import the same modules
    import accel.core.callbacks.lr_monitor
    import accel.core.callbacks.metric_logger
    import accel.core.callbacks.progress
    import accel.core.losses
    import accel.core.runtime  # noqa: F401

    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, loader, optimizer = build(args.steps, args.batch)
    loop = hand_loop if kind == "hand" else accel_loop
    with RssSampler() as rss:
        loop(model, loader, optimizer, args.epochs, device)
    growth = rss.peak - rss.start if device.type == "cpu" else peak_memory(device)
    return {"peak_bytes": peak_memory(device), "training_bytes": growth}


def run_worker(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--epochs",
        str(args.epochs),
        "--steps",
        str(args.steps),
        "--batch",
        str(args.batch),
        "--threads",
        str(args.threads),
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, env={**os.environ, "TERM": "dumb"}
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_interleaved(args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"hand": [], "accel": []}
    for round_ in range(args.memory_rounds):
        for kind in ("hand", "accel") if round_ % 2 == 0 else ("accel", "hand"):
            runs[kind].append(run_worker(kind, args))

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    hand, accel = median("hand", "peak_bytes"), median("accel", "peak_bytes")
    hand_growth, accel_growth = median("hand", "training_bytes"), median("accel", "training_bytes")
    return {
        "peak_memory_ratio": round(accel / hand, 4),
        "hand_peak_mib": round(hand / 2**20, 1),
        "accel_peak_mib": round(accel / 2**20, 1),
        "training_memory_ratio": round(accel_growth / max(hand_growth, 1), 4),
        "hand_training_mib": round(hand_growth / 2**20, 2),
        "accel_training_mib": round(accel_growth / 2**20, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved timing rounds")
    parser.add_argument("--memory-rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2, help="epochs of a memory run")
    parser.add_argument("--steps", type=int, default=40, help="steps per epoch")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", choices=["hand", "accel"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    settings = {
        key: getattr(args, key)
        for key in ("rounds", "memory_rounds", "epochs", "steps", "batch", "threads")
    }
    result = {
        "benchmark": "loop_overhead",
        **settings,
        **time_interleaved(args),
        **memory_interleaved(args),
        "targets": {"step_time_ratio": 1.02, "peak_memory_ratio": 1.05},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
