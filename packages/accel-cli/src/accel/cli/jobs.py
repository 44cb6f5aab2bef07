"""Run one config or a sweep of them, each job in its own run directory."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from accel.cli.config.load import load_config
from accel.cli.config.rundir import claim_run_dir, log_to, save_run_files
from accel.cli.config.sweep import expand_sweep
from accel.cli.runtime_bridge import apply_threads

log = logging.getLogger("accel.cli")
Job = Callable[[dict[str, Any], Path], Any]


def job_overrides(overrides: list[str], multirun: bool) -> list[list[str]]:
    """One override list per job: the sweep's product with `-m`, else the overrides as given."""
    return expand_sweep(overrides) if multirun else [list(overrides)]


def print_configs(overrides: list[str], multirun: bool) -> None:
    """`--cfg`: the resolved config of each job as YAML (no run directory is created)."""
    import yaml

    jobs = job_overrides(overrides, multirun)
    for i, job in enumerate(jobs):
        if len(jobs) > 1:
            print(f"# job {i}: {' '.join(job)}")
        print(yaml.safe_dump(load_config(job, check=False).config, sort_keys=False), end="")


def run_jobs(overrides: list[str], multirun: bool, job: Job) -> list[tuple[Path, Any]]:
    """Validate every job first (a bad sweep fails before any training), then run each."""
    jobs = job_overrides(overrides, multirun)
    for each in jobs:
        load_config(each)
    results = []
    for index, each in enumerate(jobs):
        number = index if multirun else None
        loaded = load_config(each, claim=partial(claim_run_dir, job=number))
        run_dir = Path(loaded.config["trainer"]["run_dir"])
        fill_tracker_overrides(loaded.config, each)
        save_run_files(run_dir, loaded.config, each)
        with log_to(run_dir):
            log.info("run dir %s, overrides %s", run_dir, each)
            apply_threads(loaded.config)
            result = job(loaded.config, run_dir)
            log.info("finished: %s", result)
        results.append((run_dir, result))
    return results


def fill_tracker_overrides(config: dict[str, Any], overrides: list[str]) -> None:
    """A tracker spec with `overrides: null` receives this job's command-line overrides."""
    tracker = config.get("tracker")
    if isinstance(tracker, dict) and "overrides" in tracker and tracker["overrides"] is None:
        tracker["overrides"] = list(overrides)


def print_summary(title: str, run_dir: Path, metrics: Mapping[str, Any]) -> None:
    """The final table: each metric and the run directory."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(str(key), f"{value:.4f}" if isinstance(value, float) else str(value))
    table.add_row("run_dir", str(run_dir))
    Console().print(table)
