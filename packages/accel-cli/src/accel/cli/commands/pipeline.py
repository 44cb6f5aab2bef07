"""`accel pipeline run pipeline=NAME [overrides] [--resume RUN_DIR]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from accel.cli.commands.options import CFG, OVERRIDES, TRUST_FILE

pipeline_app = typer.Typer(
    help="Multi-step runs: train, prune, fine-tune, quantize, export, evaluate.",
    no_args_is_help=True,
)

RUN_HELP = """Run a pipeline: each step's output (a checkpoint, a model file, an ONNX file) feeds
the next, all inside one run directory with a step-state file and a report (report.md/json).
After a failure or a kill, --resume RUN_DIR continues from the first unfinished step.

Examples:

  accel pipeline run pipeline=prune_int8

  accel pipeline run pipeline=prune_int8 trainer.max_epochs=4 compress.prune.ratio=0.3

  accel pipeline run --resume runs/2026-01-01/12-00-00

A run dir to resume is read as a file from anywhere: its config may name the `_target_`s your
project's configs name; anything else needs --trust-file.
"""

RESUME: Any = typer.Option(
    None, "--resume", help="A pipeline run directory to finish (its config is reused)."
)


@pipeline_app.command("run", help=RUN_HELP)
def run_command(
    overrides: list[str] | None = OVERRIDES,
    resume: Path | None = RESUME,
    cfg: bool = CFG,
    trust_file: bool = TRUST_FILE,
) -> None:
    from accel.core.trust import trusting_files

    with trusting_files(trust_file):
        if resume is not None:
            resume_run(resume, overrides or [])
        elif cfg:
            from accel.cli.jobs import print_configs

            print_configs(overrides or [], False)
        else:
            start_run(overrides or [])


def start_run(overrides: list[str]) -> None:
    """A new pipeline run; the checkpoints it makes may name the user's own `_target_`s."""
    from accel.cli.config.compose import Composer
    from accel.cli.config.load import load_config
    from accel.cli.file_policy import allowing_user_targets
    from accel.cli.jobs import run_jobs
    from accel.cli.pipeline.runner import check_pipeline, run_pipeline

    composer = Composer()  # the job runs from this composition: composed once
    check_pipeline(load_config(overrides, composer=composer).config)
    job = allowing_user_targets(run_pipeline)
    for run_dir, report in run_jobs(overrides, False, job, composer=composer):
        print_report(run_dir, report)


def resume_run(run_dir: Path, overrides: list[str]) -> None:
    """Finish the pipeline in `run_dir` with the config it was started with. That config is a
    file: it may name the `_target_`s of the project's own configs, others need --trust-file."""
    from accel.cli.config.rundir import log_to
    from accel.cli.file_policy import project_targets
    from accel.cli.pipeline.resume import read_run_config
    from accel.cli.pipeline.runner import run_pipeline
    from accel.cli.runtime_bridge import apply_threads
    from accel.core.errors import ConfigError
    from accel.core.trust import allowing_targets

    if overrides:
        raise ConfigError(
            f"--resume reuses {run_dir}/config.yaml: drop the overrides {' '.join(overrides)}"
        )
    with allowing_targets(project_targets()):
        config = read_run_config(run_dir)
        with log_to(run_dir):
            apply_threads(config)
            report = run_pipeline(config, run_dir)
    print_report(run_dir, report)


def print_report(run_dir: Path, report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown((run_dir / "report.md").read_text(encoding="utf-8")))
    Console().print(f"run_dir: {run_dir}")
