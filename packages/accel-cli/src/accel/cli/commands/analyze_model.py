"""`accel analyze-model [overrides]`: parameters, MACs, a per-layer table and latency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from accel.cli.commands.options import CFG, OVERRIDES, TRUST_FILE

HELP = """Analyze the configured model (or a checkpoint's): parameters, MACs, size, a per-layer
table, and forward latency on this machine (median of N runs at batch 1 and 32, with the load
average). MACs count matrix multiplies, convolutions and attention (torch's FlopCounterMode), the
same figure `accel compress analyze` reports. Results go to model_analysis.json in a new run
directory.

Examples:

  accel analyze-model

  accel analyze-model model=resnet56 --input-shape 3,32,32

  accel analyze-model ckpt=runs/2026-01-01/12-00-00 --runs 50

A checkpoint may name its model by registry name, or by a `_target_` your own configs name
too; anything else needs --trust-file.
"""

INPUT_SHAPE: Any = typer.Option(
    None, "--input-shape", help="C,H,W of one sample (default: from the data module)."
)
RUNS: Any = typer.Option(20, "--runs", min=1, help="Timed forward passes per batch size.")
LAYERS: Any = typer.Option(40, "--layers", min=0, help="Rows of the per-layer table to print.")


def analyze_model_command(
    overrides: list[str] | None = OVERRIDES,
    input_shape: str | None = INPUT_SHAPE,
    runs: int = RUNS,
    layers: int = LAYERS,
    cfg: bool = CFG,
    trust_file: bool = TRUST_FILE,
) -> None:
    from accel.cli.config.compose import Composer
    from accel.cli.config.load import load_config
    from accel.cli.file_policy import file_policy, project_targets, user_targets
    from accel.cli.jobs import print_configs, run_jobs
    from accel.cli.model_builder import build_model_and_shape

    if cfg:
        print_configs(overrides or [], False)
        return
    shape = parse_shape(input_shape)
    composer = Composer()  # the job runs from this composition: composed once
    config = load_config(overrides or [], composer=composer).config
    with file_policy(trust_file, user_targets(config) | project_targets()):
        model, sample_shape = build_model_and_shape(config, shape)  # before a run dir is made

        def job(config: dict[str, Any], run_dir: Path) -> dict[str, Any]:
            return analyze(model, sample_shape, run_dir, runs, layers)

        run_jobs(overrides or [], False, job, composer=composer)


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """`"1,8,8"` -> (1, 8, 8); a one-line error otherwise."""
    from accel.core.errors import ConfigError

    if text is None:
        return None
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(n < 1 for n in shape):
        raise ConfigError(f"--input-shape {text!r}: expected positive ints like 3,32,32")
    return shape


def analyze(
    model: Any, sample_shape: tuple[int, ...], run_dir: Path, runs: int, rows: int
) -> dict[str, Any]:
    import json

    import torch

    from accel.cli.analysis.model import analyze_model
    from accel.core.atomic import write_text_atomic

    result = analyze_model(model, torch.randn(1, *sample_shape), runs=runs).to_dict()
    write_text_atomic(run_dir / "model_analysis.json", json.dumps(result, indent=2))
    print_analysis(result, rows, run_dir)
    return result


def print_analysis(result: dict[str, Any], rows: int, run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    layers = Table("layer", "type", "params", "MACs", "output", title="per layer")
    for layer in result["layers"][:rows]:
        shape = "x".join(map(str, layer["output_shape"]))
        layers.add_row(
            layer["name"], layer["type"], f"{layer['params']:,}", f"{layer['macs']:,}", shape
        )
    if len(result["layers"]) > rows:
        layers.add_row(f"... {len(result['layers']) - rows} more", "", "", "", "")
    console.print(layers)
    summary = Table("measure", "value", title="model")
    summary.add_row("input", "x".join(map(str, result["input_shape"])))
    summary.add_row("parameters", f"{result['params']:,}")
    summary.add_row("MACs", f"{result['macs']:,}")
    summary.add_row("size (MB, fp32 weights)", f"{result['size_mb']:.3f}")
    for batch, ms in result["latency_ms"].items():
        summary.add_row(f"latency {batch} (ms, {result['threads']} threads)", f"{ms:.3f}")
    measures: list[dict[str, Any]] = list(result["latency"].values())
    load = measures[0].get("load_average") if measures else None
    if load is not None:  # a busy machine slows torch many times: the figure to read them by
        summary.add_row("load average (1 min)", f"{load:.2f}")
    summary.add_row("run_dir", str(run_dir))
    console.print(summary)
