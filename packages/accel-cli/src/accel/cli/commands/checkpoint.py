"""`accel checkpoint inspect|verify|average|convert|migrate`: operations on checkpoints, over
accel-core's checkpoint APIs. Every checkpoint is read as a file from a stranger: no pickle,
and a `_target_` in its config only with --trust-file (or when the project's configs name it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from accel.cli.commands.options import TRUST_FILE
from accel.core.errors import ConfigError

checkpoint_app = typer.Typer(
    help="Inspect, verify, average, convert and migrate checkpoints.", no_args_is_help=True
)

CKPT: Any = typer.Argument(
    ..., help="A checkpoint folder, a `last` pointer, or a run dir (its last checkpoint)."
)
WEIGHTS: Any = typer.Option(
    None, "--weights", help="The weight set: raw, ema or swa (default: the checkpoint's own)."
)
OUT: Any = typer.Option(..., "--out", "-o", help="Where to write (must not exist).")
AS_JSON: Any = typer.Option(False, "--json", help="Print JSON instead of a table.")
RUN: Any = typer.Argument(..., help="A run dir or its checkpoints folder.")
LAST: Any = typer.Option(..., "--last", "-n", help="How many of the latest checkpoints.")
TO: Any = typer.Option(..., "--to", help="safetensors (a state dict), onnx or pt2.")
INPUT_SHAPE: Any = typer.Option(
    None, "--input-shape", help="One sample's shape, e.g. 1,8,8 (default: the data's)."
)
MIGRATED: Any = typer.Option(
    None, "--out", "-o", help="Where to write (default: <name>-v<current> beside it)."
)


@checkpoint_app.command("inspect")
def inspect_command(ckpt: Path = CKPT, as_json: bool = AS_JSON) -> None:
    """Manifest, versions, weight sets and the tensor table (no tensor is read).

    The tensor table comes from the safetensors header alone.
    """
    from accel.core.checkpoint.inspection import inspect_checkpoint

    info = inspect_checkpoint(ckpt)
    if as_json:
        typer.echo(json.dumps(info, indent=1))
        return
    for line in summary_lines(info):
        typer.echo(line)


def summary_lines(info: dict[str, Any]) -> list[str]:
    """The inspect report for people: a few key lines, then one line per tensor."""
    loop = info.get("loop") or {}
    versions = ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items())
    model = info.get("model") or {}
    lines = [
        f"checkpoint  {info['path']}",
        f"format      version {info['format_version']} (current {info['current_format_version']})",
        f"created     {info.get('created')}  by {versions}",
        f"model       {model.get('class')}  spec {json.dumps(model.get('spec'))}",
        f"weights     {', '.join(info.get('weights') or {})} (default {info['default_weights']})",
        f"position    epoch {loop.get('epoch')} step {loop.get('global_step')}",
        f"tensors     {len(info['tensors'])}, {info['tensor_bytes'] / 2**20:.2f} MiB",
    ]
    if info.get("truncated"):
        lines.append(f"WARNING     {info['truncated']}")
    width = max([len(t["name"]) for t in info["tensors"]] + [4])
    lines.append(f"{'name':<{width}}  dtype  shape")
    lines += [f"{t['name']:<{width}}  {t['dtype']:<5}  {t['shape']}" for t in info["tensors"]]
    return lines


@checkpoint_app.command("verify")
def verify_command(ckpt: Path = CKPT, trust_file: bool = TRUST_FILE) -> None:
    """Check every tensor is present, shapes fit the config's model, no NaN.

    Each problem is one line on stderr; any problem exits 1.
    """
    from accel.cli.file_policy import file_policy, project_targets
    from accel.core.checkpoint.inspection import verify_checkpoint

    with file_policy(trust_file, project_targets()):
        result = verify_checkpoint(ckpt)
    for problem in result.problems:
        typer.secho(f"error: {result.path}: {problem}", fg=typer.colors.RED, err=True)
    if result.problems:
        raise typer.Exit(1)
    typer.echo(f"ok: {result.path}: {'; '.join(result.checked)}")


@checkpoint_app.command("average")
def average_command(
    run: Path = RUN,
    last: int = LAST,
    out: Path = OUT,
    weights: str | None = WEIGHTS,
    decay: float | None = typer.Option(
        None, "--decay", help="EMA-style: each older checkpoint weighs DECAY times the next."
    ),
) -> None:
    """Average the weights of a run's last N checkpoints into a new checkpoint.

    Uniform ("model soup"), or EMA-style with --decay; written atomically; no resume pointer
    is touched.
    """
    from accel.core.checkpoint.average import average_checkpoints, last_checkpoints

    paths = last_checkpoints(run, last)
    written = average_checkpoints(paths, out, weights=weights, decay=decay)
    typer.echo(f"averaged {len(paths)} checkpoints ({', '.join(p.name for p in paths)}): {written}")


@checkpoint_app.command("convert")
def convert_command(
    ckpt: Path = CKPT,
    to: str = TO,
    out: Path = OUT,
    weights: str | None = WEIGHTS,
    input_shape: str | None = INPUT_SHAPE,
    trust_file: bool = TRUST_FILE,
) -> None:
    """Convert to a plain safetensors state dict, ONNX, or a torch.export program (.pt2).

    ONNX and .pt2 trace the model rebuilt from the checkpoint's config, with a dynamic batch.
    """
    from accel.cli.file_policy import file_policy, project_targets
    from accel.core.checkpoint.convert import convert_checkpoint

    shape = parse_shape(input_shape)
    with file_policy(trust_file, project_targets()):
        written = convert_checkpoint(ckpt, out, to=to, weights=weights, input_shape=shape)
    typer.echo(f"wrote {written}")


def parse_shape(text: str | None) -> list[int] | None:
    """`1,8,8` -> [1, 8, 8]; anything else is one line naming the option."""
    if text is None:
        return None
    try:
        shape = [int(part) for part in text.split(",")]
    except ValueError:
        shape = []
    if not shape or any(d < 1 for d in shape):
        raise ConfigError(f"--input-shape {text!r}: expected positive ints like 1,8,8")
    return shape


@checkpoint_app.command("migrate")
def migrate_command(
    ckpt: Path = CKPT,
    out: Path | None = MIGRATED,
) -> None:
    """Upgrade an older format version to the current one, as a new checkpoint.

    The original is kept; the tensor file is copied unchanged.
    """
    from accel.core.checkpoint.migrate import FORMAT_VERSION, migrate_checkpoint

    written, steps = migrate_checkpoint(ckpt, out)
    if not steps:
        typer.echo(f"{written} is at format version {FORMAT_VERSION} already: nothing to do")
        return
    path = " -> ".join(str(v) for v in [*steps, FORMAT_VERSION])
    typer.echo(f"migrated format version {path}: {written}")
