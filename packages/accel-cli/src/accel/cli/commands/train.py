"""`accel train [overrides]`: compose a config, make a run directory, fit and test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accel.cli.commands.options import CFG, MULTIRUN, OVERRIDES, YES, stats

HELP = """Train a model from the composed config (packaged defaults, ./configs, overrides).

With no arguments: ResNet-20 on the embedded digits dataset, no download.

Examples:

  accel train

  accel train optimizer.lr=0.05 trainer.max_epochs=5

  accel train model=resnet56 data.batch_size=128 ~callbacks.progress

  accel train -m optimizer.lr=0.1,0.01      (two jobs, two run directories)

  accel train -m 'seed=range(0,2000)' --yes   (over 1,000 jobs: needs --yes)

  accel train resume=runs/2026-01-01/12-00-00/checkpoints/epoch=007-step=0000160

  accel train --cfg                          (print the resolved config)

  accel train trainer.engine=accelerate trainer.devices=2
                                             (2 processes, one run directory; needs
                                              accel-core[accelerate])
"""


def train(
    overrides: list[str] | None = OVERRIDES,
    multirun: bool = MULTIRUN,
    cfg: bool = CFG,
    yes: bool = YES,
) -> None:
    from accel.cli.jobs import print_configs, print_summary, run_jobs

    if cfg:
        print_configs(overrides or [], multirun, yes=yes)
        return
    for run_dir, result in run_jobs(overrides or [], multirun, fit_and_test, yes=yes):
        print_summary("accel train", run_dir, stats(result))


def fit_and_test(config: dict[str, Any], run_dir: Path, tracker: Any = None) -> dict[str, Any]:
    """Fit, then evaluate the last weights on the test split; both stages' metrics.

    With `trainer.devices` > 1 the workers do it (see `accel.cli.launch`), all in `run_dir`
    (tracked by the config's tracker from process 0). `tracker`: a sweep job's child run.
    """
    from accel.cli.launch import launch, processes_to_launch

    processes = processes_to_launch(config)
    if processes > 1:
        return launch(run_dir, processes)
    return fit_and_test_here(config, run_dir, tracker)


def fit_and_test_here(config: dict[str, Any], run_dir: Path, tracker: Any = None) -> dict[str, Any]:
    """Fit and test in this process, from one Context built once (one tracked run: the test
    reattaches to the fit's)."""
    from accel.cli.runtime_bridge import run_stage

    return stats(run_stage(config, "fit+test", tracker=tracker))
