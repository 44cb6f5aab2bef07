"""What checking a sweep costs: 200 jobs that differ in values only against one job, and the
refusal of a 100,000-job sweep (the figures tests/config/test_sweep.py no longer times).

`check_jobs` composes each distinct set of group choices once, so checking 200 seeds costs
one composition plus 200 cheap copies, resolutions and checks: `ratio_200_to_1` far below 200,
the ratio if every job were composed (`if_each_job_composed_s` estimates that time). The
refusal counts the jobs without listing them: `refuse_100000_s` should be well under a
second. Rounds interleave the cases so machine noise hits them alike; prints JSON with medians
and the spread (min, max) over rounds.

    uv run python benchmarks/config_sweep.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any


def timed(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def refuse(expand_sweep: Callable[..., Any]) -> None:
    from accel.core.errors import ConfigError

    try:
        expand_sweep(["seed=range(0,100000)"])
    except ConfigError:
        return
    raise SystemExit("a 100000-job sweep was not refused: the benchmark measures nothing")


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(values), 4),
        "min_s": round(min(values), 4),
        "max_s": round(max(values), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp(prefix="accel-sweep-bench-"))  # the packaged configs only
    from accel.cli.config.load import check_jobs
    from accel.cli.config.sweep import expand_sweep

    many = expand_sweep(["seed=range(0,200)", "optimizer.lr=0.1"])
    cases: dict[str, Callable[[], Any]] = {
        "check_1_job": lambda: check_jobs([["seed=0"]]),
        "check_200_jobs": lambda: check_jobs(many),
        "refuse_100000_jobs": lambda: refuse(expand_sweep),
    }
    for work in cases.values():  # warm-up: imports, Hydra's first initialisation
        work()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(args.rounds):
        order = list(cases) if round_ % 2 == 0 else list(reversed(cases))
        for name in order:
            samples[name].append(timed(cases[name]))
    ratios = [
        two / one
        for one, two in zip(samples["check_1_job"], samples["check_200_jobs"], strict=True)
    ]
    report = {
        "benchmark": "config_sweep",
        "rounds": args.rounds,
        "cases": {name: summary(values) for name, values in samples.items()},
        "ratio_200_to_1": {
            "median": round(statistics.median(ratios), 2),
            "min": round(min(ratios), 2),
            "max": round(max(ratios), 2),
        },
        "ms_per_job_of_200": round(statistics.median(samples["check_200_jobs"]) / 200 * 1e3, 3),
        "refuse_100000_s": round(statistics.median(samples["refuse_100000_jobs"]), 4),
        "if_each_job_composed_s": round(200 * statistics.median(samples["check_1_job"]), 2),
        "configs": "accel-cli's packaged configs (an empty project folder)",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
