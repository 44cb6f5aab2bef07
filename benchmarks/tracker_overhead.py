"""Step-time overhead of accel-mlflow's tracker against no tracker, with a local MLflow server.

For each workload and logging cadence, runs the same training loop in blocks of a few
seconds, alternating no tracker and a fresh `MlflowTracker` run, so machine noise hits both
alike. Blocks are long enough for the spool writer, the sender process and the server to
work during the timed steps (a 1 s tick), not only after them. Prints a JSON with, per case:

- `median_ratio`: median step time, tracked ÷ untracked (the typical step);
- `mean_ratio`: mean step time, i.e. training wall time, tracked ÷ untracked: this includes
  the spool writer's GIL time, garbage collection and the CPU the sender and the server take
  from the training process when they share its cores;
  both are the median over block pairs of (tracked block ÷ the untracked block before it),
  so a slow drift of the machine's speed cancels out;
- `sender_cpu` and `server_cpu`: cores the sender process and the server used meanwhile;
- `metrics_per_s` logged, and `drain_s`: how long `end_run` waited for the server to catch up.

Single-threaded torch. The server runs on this machine, so on a 2-core machine its CPU
competes with training; the every-step cases are therefore run twice: with all processes
sharing the cores, and (on Linux) with training pinned to core 0 and the server and the
sender pinned to the others, which is how a training machine with a remote tracking server
sees the tracker. Target: overhead <= 2%.

    uv run python benchmarks/tracker_overhead.py [--block-seconds 2.5] [--blocks 6]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import torch
from torch import nn

from accel.mlflow.testing import MlflowServer
from accel.mlflow.tracker import MlflowTracker

TARGET = 0.02
CADENCES = (1, 10)  # every step (the worst case) and accel-cli's default log_every_n_steps


def workloads() -> dict[str, tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """A small MLP step (well under 1 ms) and a small CNN step (a few ms) on this CPU."""
    g = torch.Generator().manual_seed(0)
    mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    cnn = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )
    return {
        "mlp_64x64": (
            mlp,
            torch.randn(64, 64, generator=g),
            torch.randint(0, 10, (64,), generator=g),
        ),
        "cnn_16x3x32x32": (
            cnn,
            torch.randn(16, 3, 32, 32, generator=g),
            torch.randint(0, 10, (16,), generator=g),
        ),
    }


def run_loop(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    tracker: Any,
    every: int = 1,
) -> list[float]:
    """Seconds of each training step; the tracker (if any) gets three metrics every `every`."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for step in range(steps):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        value = loss.detach().item()
        if tracker is not None and step % every == 0:
            tracker.log_metrics({"train/loss": value, "lr": 0.01, "epoch": 0.0}, step)
        times.append(time.perf_counter() - start)
    return times


def measure(
    server: MlflowServer, root: Path, name: str, work: Any, every: int, args: Any, pin: bool
) -> dict[str, Any]:
    """Alternate untracked and tracked blocks; compare medians, means and process CPU."""
    model, x, y = work
    assert server.process is not None
    server_pid = server.process.pid
    if pin:
        pin_apart(server_pid)
    warm = run_loop(model, x, y, 50, None)
    steps = max(100, int(args.block_seconds / statistics.median(warm)))
    base: list[float] = []
    tracked: list[float] = []
    sender_cpu: list[float] = []
    server_cpu: list[float] = []
    drains: list[float] = []
    pairs: list[tuple[float, float]] = []
    for block in range(args.blocks):
        untracked = run_loop(model, x, y, steps, None, every)
        base += untracked
        tracker = MlflowTracker(
            uri=server.uri,
            run_dir=root / f"{name}-{every}-{block}-{int(pin)}",
            experiment="bench",
        )
        tracker.start_run(f"{name}-every{every}-{block}")
        tracker.flush()  # the run exists and the sender is up before the timed steps
        senders = [p for p in psutil.Process().children() if p.pid != server_pid]
        if pin:
            pin_apart(server_pid, *(p.pid for p in senders))
        before = (cpu_seconds(senders), cpu_seconds([server_pid]), time.perf_counter())
        with_tracker = run_loop(model, x, y, steps, tracker, every)
        tracked += with_tracker
        pairs.append(
            (
                statistics.median(with_tracker) / statistics.median(untracked),
                statistics.fmean(with_tracker) / statistics.fmean(untracked),
            )
        )
        wall = time.perf_counter() - before[2]
        sender_cpu.append((cpu_seconds(senders) - before[0]) / wall)
        server_cpu.append((cpu_seconds([server_pid]) - before[1]) / wall)
        start = time.perf_counter()
        tracker.end_run()
        drains.append(time.perf_counter() - start)
    if pin:
        unpin(server_pid)
    median_ratio = statistics.median(pair[0] for pair in pairs)
    mean_ratio = statistics.median(pair[1] for pair in pairs)
    return {
        "log_every_n_steps": every,
        "cores": "training on core 0, server and sender on the others" if pin else "shared",
        "steps_per_block": steps,
        "step_ms_no_tracker": round(statistics.median(base) * 1e3, 4),
        "step_ms_mlflow_tracker": round(statistics.median(tracked) * 1e3, 4),
        "median_ratio": round(median_ratio, 4),
        "mean_ratio": round(mean_ratio, 4),
        "sender_cpu": round(statistics.fmean(sender_cpu), 3),
        "server_cpu": round(statistics.fmean(server_cpu), 3),
        "metrics_per_s": round(3 / every / statistics.fmean(tracked)),
        "drain_s": round(statistics.median(drains), 2),
        "within_target": {
            "median": median_ratio - 1 <= TARGET,
            "mean": mean_ratio - 1 <= TARGET,
        },
    }


def pin_apart(*others: int) -> None:
    """Training on core 0; the given processes (and their children) on the other cores."""
    cores = sorted(os.sched_getaffinity(0) | set(psutil.Process(others[0]).cpu_affinity()))
    os.sched_setaffinity(0, cores[:1])
    for pid in others:
        for member in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            member.cpu_affinity(cores[1:])


def unpin(server_pid: int) -> None:
    cores = list(range(os.cpu_count() or 1))
    os.sched_setaffinity(0, cores)
    for member in [psutil.Process(server_pid), *psutil.Process(server_pid).children(True)]:
        member.cpu_affinity(cores)


def cpu_seconds(processes: list[Any]) -> float:
    """User + system CPU seconds of processes (pids or psutil processes) and their children."""
    total = 0.0
    for process in processes:
        process = psutil.Process(process) if isinstance(process, int) else process
        try:
            for member in [process, *process.children(recursive=True)]:
                times = member.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--block-seconds", type=float, default=2.5, help="seconds per block")
    parser.add_argument("--blocks", type=int, default=6, help="blocks per condition")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # stdout is JSON
    root = Path(tempfile.mkdtemp(prefix="accel-tracker-bench-"))
    server = MlflowServer(root / "server").start()
    try:
        can_pin = hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
        results = {}
        for name, work in workloads().items():
            for every in CADENCES:
                case = f"{name}_every_{every}"
                results[case] = measure(server, root, name, work, every, args, pin=False)
                if every == 1 and can_pin:
                    pinned = measure(server, root, name, work, every, args, pin=True)
                    results[f"{case}_server_on_other_cores"] = pinned
    finally:
        server.stop()
    report = {
        "benchmark": "tracker_overhead",
        "target_overhead_pct": TARGET * 100,
        "blocks_per_condition_interleaved": args.blocks,
        "block_seconds": args.block_seconds,
        "torch_threads": 1,
        "cpus": os.cpu_count(),
        "server": "local mlflow server (sqlite backend, local artifacts) on the same machine",
        "metrics_per_logged_step": 3,
        "results": results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
