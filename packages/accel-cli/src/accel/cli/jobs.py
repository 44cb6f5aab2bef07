"""Run one config or a sweep of them, each job in its own run directory."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from accel.cli.config.compose import Composer, compose_many
from accel.cli.config.load import check_jobs, load_config, resolve
from accel.cli.config.rundir import claim_run_dir, log_to, save_run_files
from accel.cli.config.sweep import expand_sweep
from accel.cli.launch import end_process_group, is_main_rank, launched_externally, share_config
from accel.cli.project_plugins import load_project_plugins
from accel.cli.runtime_bridge import apply_threads
from accel.cli.tracking import child_tracker, parent_run
from accel.core.errors import ConfigError

log = logging.getLogger("accel.cli")
# `job(config, run_dir)`; in a tracked sweep also `tracker=` (the job's child run)
Job = Callable[..., Any]


def job_overrides(overrides: list[str], multirun: bool, *, yes: bool = False) -> list[list[str]]:
    """One override list per job: the sweep's product with `-m`, else the overrides as given.
    A sweep of more than 1,000 jobs needs `yes` (the command line's --yes)."""
    return expand_sweep(overrides, yes=yes) if multirun else [list(overrides)]


def print_configs(overrides: list[str], multirun: bool, *, yes: bool = False) -> None:
    """`--cfg`: the resolved config of each job as YAML (no run directory is created)."""
    import yaml

    jobs = job_overrides(overrides, multirun, yes=yes)
    load_project_plugins()
    for i, (job, composed) in enumerate(zip(jobs, compose_many(jobs), strict=True)):
        if len(jobs) > 1:
            print(f"# job {i}: {' '.join(job)}")
        print(yaml.safe_dump(resolve(composed.config), sort_keys=False), end="")


def run_jobs(
    overrides: list[str],
    multirun: bool,
    job: Job,
    *,
    yes: bool = False,
    composer: Composer | None = None,
) -> list[tuple[Path, Any]]:
    """Validate every job first (a bad sweep fails before any training), then run each.

    `composer`: the one a command used to read the config before (so it is not composed
    again); each job is composed once: checked, then run from the same composition."""
    if launched_externally():
        return run_launched_job(overrides, multirun, job)
    jobs = job_overrides(overrides, multirun, yes=yes)
    composer = Composer() if composer is None else composer
    checked = check_jobs(jobs, composer)
    tracked = multirun and len(jobs) > 1 and bool(checked[0].get("tracker"))
    results = []
    with sweep_run(overrides, jobs, tracked, composer) as parent:
        for index, each in enumerate(jobs):
            number = index if multirun else None
            claim = partial(claim_run_dir, job=number)
            loaded = load_config(each, check=False, claim=claim, composer=composer)  # checked
            run_dir = Path(loaded.config["trainer"]["run_dir"])
            fill_tracker_overrides(loaded.config, each)
            save_run_files(run_dir, loaded.config, each)
            tracker = child_tracker(parent, run_dir.name, run_dir)
            with log_to(run_dir):
                log.info("run dir %s, overrides %s", run_dir, each)
                apply_threads(loaded.config)
                if tracker is None:
                    result = job(loaded.config, run_dir)
                else:
                    result = job(loaded.config, run_dir, tracker=tracker)
                log.info("finished: %s", result)
            results.append((run_dir, result))
    return results


@contextmanager
def sweep_run(
    overrides: list[str], jobs: list[list[str]], tracked: bool, composer: Composer
) -> Iterator[Any]:
    """A `tracked` sweep (several jobs, a tracker configured) is one parent run (in
    `<base>-sweep`) whose children are the jobs, when the tracker nests; otherwise None.
    `composer`: the one that composed and checked the jobs."""
    if not tracked:
        yield None
        return
    loaded = load_config(jobs[0], check=False, claim=claim_sweep_dir, composer=composer)
    sweep_dir = Path(loaded.config["trainer"]["run_dir"])
    fill_tracker_overrides(loaded.config, overrides)
    params = {"sweep.overrides": " ".join(overrides), "sweep.jobs": len(jobs)}
    with parent_run(loaded.config, sweep_dir, "sweep", params=params) as parent:
        yield parent


def claim_sweep_dir(base: str) -> Path:
    """The sweep's own folder, beside its jobs' (`<base>-sweep`)."""
    return claim_run_dir(f"{base}-sweep")


def run_launched_job(overrides: list[str], multirun: bool, job: Job) -> list[tuple[Path, Any]]:
    """One process of several (torchrun, accelerate launch): process 0 resolves the config and
    claims the run directory, every process runs the job with that config; process 0 reports."""
    if multirun:
        raise ConfigError(
            "-m (a sweep) cannot run under torchrun or accelerate launch: launch one job at a time"
        )
    composer = Composer()  # one composition, checked, then claimed by process 0
    checked = load_config(overrides, composer=composer).config  # a bad config fails everywhere
    device = str((checked.get("trainer") or {}).get("device", "auto"))
    config = None
    if is_main_rank():
        config = load_config(overrides, check=False, claim=claim_run_dir, composer=composer).config
        fill_tracker_overrides(config, overrides)
        save_run_files(Path(config["trainer"]["run_dir"]), config, overrides)
    config = share_config(config, device)
    run_dir = Path(config["trainer"]["run_dir"])
    apply_threads(config)
    if not is_main_rank():
        job(config, run_dir)
        end_process_group()
        return []
    with log_to(run_dir):
        log.info("run dir %s, overrides %s (process 0 of several)", run_dir, overrides)
        result = job(config, run_dir)
        log.info("finished: %s", result)
    end_process_group()
    return [(run_dir, result)]


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
