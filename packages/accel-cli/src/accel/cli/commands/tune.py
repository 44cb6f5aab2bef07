"""`accel tune lr [overrides]`: the learning-rate range test on the composed config.

Writes `lr_find.json` (rates, smoothed losses, suggestion) and `lr_find.png` (the curve, the
suggestion marked) into a new run directory, and prints the suggested rate as an override.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import typer

from accel.cli.commands.options import OVERRIDES

tune_app = typer.Typer(help="Tune training settings: the learning rate.", no_args_is_help=True)

LR_HELP = """Find a learning rate: train a copy of the model for a few steps while the rate grows
exponentially, and suggest the rate where the loss falls fastest (written to the run dir).

Examples:

  accel tune lr

  accel tune lr optimizer=adamw --min-lr 1e-6 --max-lr 1 --steps 100
"""
MIN_LR: Any = typer.Option(1e-6, "--min-lr", help="The first rate tried.")
MAX_LR: Any = typer.Option(10.0, "--max-lr", help="The last rate tried (at most).")
STEPS: Any = typer.Option(100, "--steps", help="Training steps of the test.")


@tune_app.command("lr", help=LR_HELP)
def tune_lr(
    overrides: list[str] | None = OVERRIDES,
    min_lr: float = MIN_LR,
    max_lr: float = MAX_LR,
    steps: int = STEPS,
) -> None:
    from accel.cli.jobs import print_summary, run_jobs
    from accel.core.runtime.lr_finder import check_range

    check_range(min_lr, max_lr, steps, 0.05, 4.0)  # before a run dir is made

    def job(config: dict[str, Any], run_dir: Path) -> dict[str, Any]:
        return range_test(config, run_dir, min_lr=min_lr, max_lr=max_lr, steps=steps)

    for run_dir, result in run_jobs(overrides or [], False, job):
        print_summary("accel tune lr", run_dir, result)
        if result.get("suggested_lr") is not None:
            typer.echo(f"train with: accel train optimizer.lr={result['suggested_lr']:.3g}")


def range_test(config: dict[str, Any], run_dir: Path, **options: Any) -> dict[str, Any]:
    """Run the range test on the config's model, data, optimizer and loss; write its files."""
    from accel.cli.runtime_bridge import to_runtime
    from accel.core.atomic import write_json_atomic
    from accel.core.runtime import build_context
    from accel.core.runtime.lr_finder import find_lr

    runtime = to_runtime(config)
    ctx = build_context(runtime, "fit")
    found = find_lr(
        ctx.model, ctx.train_loader, optimizer=runtime["optimizer"], loss=ctx.loss, **options
    )
    record = {
        "suggested_lr": found.suggestion,
        "stopped_early": found.stopped_early,
        "lrs": found.lrs,
        "losses": [v if math.isfinite(v) else None for v in found.losses],
        **options,
    }
    write_json_atomic(run_dir / "lr_find.json", record)
    write_plot(run_dir / "lr_find.png", found.lrs, found.losses, found.suggestion)
    return {"suggested_lr": found.suggestion, "steps_run": len(found.lrs), "plot": "lr_find.png"}


def write_plot(path: Path, lrs: list[float], losses: list[float], suggestion: float | None) -> Path:
    """The smoothed loss against log10(lr) as a PNG (Pillow), the suggestion as a red line."""
    from PIL import Image, ImageDraw

    from accel.core.atomic import write_bytes_atomic

    width, height, margin = 640, 400, 50
    points = [(math.log10(r), v) for r, v in zip(lrs, losses, strict=True) if math.isfinite(v)]
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    if len(points) >= 2:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        low_y, high_y = min(ys), min(max(ys), 4 * min(ys) + 1e-12)
        x_of = scale(min(xs), max(xs), margin, width - margin)
        y_of = scale(high_y, low_y, margin, height - margin)
        draw.line([(x_of(x), y_of(min(y, high_y))) for x, y in points], fill="navy", width=2)
        for decade in range(math.ceil(min(xs)), math.floor(max(xs)) + 1):
            draw.line(
                [(x_of(decade), height - margin), (x_of(decade), height - margin + 5)], "black"
            )
            draw.text((x_of(decade) - 12, height - margin + 8), f"1e{decade}", fill="black")
        draw.text((margin, height - margin + 25), "learning rate (log)", fill="black")
        draw.text((5, margin - 20), f"smoothed loss {low_y:.3g} .. {high_y:.3g}", fill="black")
        if suggestion is not None:
            x = x_of(math.log10(suggestion))
            draw.line([(x, margin), (x, height - margin)], fill="red", width=1)
            draw.text((x + 4, margin + 4), f"suggested {suggestion:.3g}", fill="red")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return write_bytes_atomic(path, buffer.getvalue())


def scale(low: float, high: float, start: float, end: float) -> Any:
    """A function mapping [low, high] onto [start, end] (a flat range maps to the middle)."""
    span = high - low
    return lambda v: (start + end) / 2 if span == 0 else start + (v - low) / span * (end - start)
