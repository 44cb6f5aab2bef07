"""`accel pipeline run pipeline=NAME [overrides] [--resume RUN_DIR]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from accel.cli.commands.options import CFG, OVERRIDES

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
"""

RESUME: Any = typer.Option(
    None, "--resume", help="A pipeline run directory to finish (its config is reused)."
)


@pipeline_app.command("run", help=RUN_HELP)
def run_command(
    overrides: list[str] | None = OVERRIDES,
    resume: Path | None = RESUME,
    cfg: bool = CFG,
) -> None:
    from accel.cli.jobs import print_configs, run_jobs
    from accel.cli.pipeline.runner import check_pipeline, run_pipeline

    if resume is not None:
        resume_run(resume, overrides or [])
        return
    if cfg:
        print_configs(overrides or [], False)
        return
    from accel.cli.config.load import load_config

    check_pipeline(load_config(overrides or []).config)
    for run_dir, report in run_jobs(overrides or [], False, run_pipeline):
        print_report(run_dir, report)


def resume_run(run_dir: Path, overrides: list[str]) -> None:
    """Finish the pipeline in `run_dir` with the config it was started with."""
    import yaml

    from accel.cli.config.rundir import log_to
    from accel.cli.pipeline.runner import run_pipeline
    from accel.core.errors import ConfigError

    if overrides:
        raise ConfigError(
            f"--resume reuses {run_dir}/config.yaml: drop the overrides {' '.join(overrides)}"
        )
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"--resume {run_dir}: no config.yaml there (not an accel run dir)")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: broken YAML: {' '.join(str(error).split())}") from None
    from accel.cli.runtime_bridge import apply_threads

    with log_to(run_dir):
        apply_threads(config)
        report = run_pipeline(config, run_dir)
    print_report(run_dir, report)


def print_report(run_dir: Path, report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown((run_dir / "report.md").read_text(encoding="utf-8")))
    Console().print(f"run_dir: {run_dir}")
