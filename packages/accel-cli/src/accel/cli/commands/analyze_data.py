"""`accel analyze-data [overrides]`: statistics, class balance and a PNG grid of samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from accel.cli.commands.options import CFG, OVERRIDES

HELP = """Analyze the configured dataset: samples per split, class balance, per-channel mean and
std, image sizes, and a grid of samples as PNG. Results go to data_analysis.json and samples.png
in a new run directory. A dataset can write its own files instead of the grid (a table:
schema.yaml and histograms.png, with per-column statistics).

Examples:

  accel analyze-data

  accel analyze-data data=synthetic --samples 16

  accel analyze-data data.seed=3 --max-samples 500

  accel analyze-data data=diabetes
"""

SAMPLES: Any = typer.Option(64, "--samples", min=1, help="Images in the PNG grid.")
MAX_SAMPLES: Any = typer.Option(
    None, "--max-samples", min=1, help="Analyze at most this many samples per split."
)


def analyze_data_command(
    overrides: list[str] | None = OVERRIDES,
    samples: int = SAMPLES,
    max_samples: int | None = MAX_SAMPLES,
    cfg: bool = CFG,
) -> None:
    from accel.cli.jobs import print_configs, run_jobs

    if cfg:
        print_configs(overrides or [], False)
        return

    def job(config: dict[str, Any], run_dir: Path) -> dict[str, Any]:
        return analyze(config, run_dir, samples, max_samples)

    run_jobs(overrides or [], False, job)


def analyze(
    config: dict[str, Any], run_dir: Path, samples: int, max_samples: int | None
) -> dict[str, Any]:
    import json

    from accel.cli.analysis.data import data_statistics, sample_batch, save_grid
    from accel.core.atomic import write_text_atomic
    from accel.core.registry import build

    data = build("datasets", config["data"])
    stats = data_statistics(data, max_samples)
    own_files = getattr(data, "write_analysis", None)  # accel.core.protocols.AnalyzableData
    if callable(own_files):
        stats["files"] = [Path(p).name for p in own_files(run_dir)]
    else:
        images, _ = sample_batch(data, samples)
        stats["grid"] = save_grid(images, run_dir / "samples.png").name
    write_text_atomic(run_dir / "data_analysis.json", json.dumps(stats, indent=2))
    print_statistics(stats, run_dir)
    return stats


def print_statistics(stats: dict[str, Any], run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    splits = Table("split", "samples", "imbalance", "mean", "std", "sizes", title="splits")
    for name, split in stats["splits"].items():
        splits.add_row(
            name,
            str(split.get("count")),
            str(split.get("imbalance", "-")),
            _numbers(split.get("channel_mean")),
            _numbers(split.get("channel_std")),
            ", ".join(f"{k} ({v})" for k, v in (split.get("image_sizes") or {}).items()),
        )
    console.print(splits)
    names = stats.get("class_names")
    balance = Table("class", *stats["splits"], title="class balance")
    classes = sorted(
        {c for s in stats["splits"].values() for c in s.get("class_counts", {})}, key=_key
    )
    for c in classes:
        label = names[int(c)] if names and c.isdigit() and int(c) < len(names) else c
        balance.add_row(
            label, *(str(s.get("class_counts", {}).get(c, 0)) for s in stats["splits"].values())
        )
    console.print(balance)
    for extra in stats.get("tables") or []:  # a data module's own tables
        table = Table(*extra["header"], title=extra.get("title"))
        for row in extra["rows"]:
            table.add_row(*(str(cell) for cell in row))
        console.print(table)
    if "grid" in stats:
        console.print(f"samples grid: {run_dir / stats['grid']}")
    for name in stats.get("files") or []:
        console.print(f"wrote {run_dir / name}")


def _numbers(values: Any) -> str:
    return ", ".join(f"{v:.4f}" for v in values) if values else "-"


def _key(label: str) -> tuple[int, Any]:
    return (0, int(label)) if label.isdigit() else (1, label)
