"""How long `MlflowTracker.log_metrics` takes while the tracking server is reachable and while
it is not (the figure tests/test_replay.py no longer times: "a step never waits on the network").

A real local `mlflow server` behind `FlakyProxy`, switched up (forwarding) and down (connection
refused) in alternation, the order flipped each round so machine noise hits both alike. Each
block logs `--steps` steps of two metrics from one tracker run, timing every call. Prints JSON
with, per network state, the median / p99 / max call time in µs (the median over rounds, and
the spread of the per-round medians), and the ratios down ÷ up: near 1 means logging does not
notice the outage (the sender process, not the training thread, talks to the server).

    uv run python benchmarks/tracker_outage.py [--rounds 6] [--steps 500]
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

from accel.mlflow.testing import FlakyProxy, MlflowServer
from accel.mlflow.tracker import MlflowTracker

STATES = ("up", "down")


def log_block(tracker: MlflowTracker, first: int, steps: int) -> list[float]:
    """Seconds of each `log_metrics` call for steps first .. first + steps - 1."""
    times = []
    for step in range(first, first + steps):
        start = time.perf_counter()
        tracker.log_metrics({"train/loss": 1.0 / (step + 1), "train/acc": step / 1e4}, step)
        times.append(time.perf_counter() - start)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def block_stats(times: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(times) * 1e6,
        "p99": percentile(times, 0.99) * 1e6,
        "max": max(times) * 1e6,
    }


def measure(proxy: FlakyProxy, tracker: MlflowTracker, args: Any) -> dict[str, list[dict]]:
    blocks: dict[str, list[dict[str, float]]] = {state: [] for state in STATES}
    step = 0
    for round_ in range(args.rounds):
        order = STATES if round_ % 2 == 0 else tuple(reversed(STATES))
        for state in order:
            if state == "up":
                proxy.up()
                tracker.flush(timeout=30)  # caught up: the block starts from a quiet sender
            else:
                proxy.down()
            blocks[state].append(block_stats(log_block(tracker, step, args.steps)))
            step += args.steps
    proxy.up()
    return blocks


def summarize(blocks: list[dict[str, float]]) -> dict[str, Any]:
    medians = [b["median"] for b in blocks]
    return {
        "median_us": round(statistics.median(medians), 2),
        "p99_us": round(statistics.median(b["p99"] for b in blocks), 2),
        "max_us": round(max(b["max"] for b in blocks), 2),
        "spread_of_block_medians_us": [round(min(medians), 2), round(max(medians), 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="interleaved up/down rounds")
    parser.add_argument("--steps", type=int, default=500, help="logged steps per block")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # stdout is JSON
    root = Path(tempfile.mkdtemp(prefix="accel-outage-bench-"))
    server = MlflowServer(root / "server").start()
    proxy = FlakyProxy(server.port).up()
    try:
        tracker = MlflowTracker(
            uri=proxy.uri, run_dir=root / "run", flush_interval=0.05, flush_timeout=30
        )
        tracker.start_run("outage-bench")
        tracker.flush(timeout=30)
        blocks = measure(proxy, tracker, args)
        tracker.end_run()
    finally:
        proxy.down()
        server.stop()
    states = {state: summarize(blocks[state]) for state in STATES}
    report = {
        "benchmark": "tracker_outage",
        "rounds": args.rounds,
        "steps_per_block": args.steps,
        "metrics_per_step": 2,
        "states": states,
        "ratio_down_to_up": {
            "median": round(states["down"]["median_us"] / states["up"]["median_us"], 3),
            "p99": round(states["down"]["p99_us"] / states["up"]["p99_us"], 3),
        },
        "bound_the_test_once_asserted_us": 50_000,
        "server": "local mlflow server (sqlite) behind FlakyProxy; down = connection refused",
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
