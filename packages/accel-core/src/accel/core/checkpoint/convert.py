"""Convert a checkpoint's weights to another format: a plain safetensors state dict, ONNX, or a
`torch.export` program (.pt2) of the model rebuilt from its stored config."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from accel.core.atomic import atomic_path
from accel.core.checkpoint.codec import CheckpointError
from accel.core.errors import ConfigError

FORMATS = ("safetensors", "onnx", "pt2")
BATCH = 2  # example batch for tracing: >= 2 so the batch dimension stays dynamic


def convert_checkpoint(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    to: str,
    weights: str | None = None,
    input_shape: Sequence[int] | None = None,
    trust: bool | None = None,
) -> Path:
    """Write checkpoint `path`'s weights (`weights`: raw/ema/swa, default the checkpoint's) as
    `to` at `out`, atomically. ONNX and .pt2 trace the rebuilt model on a random batch of
    `input_shape` (C, H, W, ...; default: the input shape of the config's data module)."""
    if to not in FORMATS:
        raise ConfigError(f"--to {to!r} is not a format; use one of {', '.join(FORMATS)}")
    out = Path(out)
    if out.exists():
        raise CheckpointError(f"{out} exists; choose another output (nothing is overwritten)")
    if to == "safetensors":
        return write_state_dict(path, out, weights)
    from accel.core.checkpoint import load_checkpoint, rebuild_model

    model = rebuild_model(path, trust=trust, weights=weights).eval()
    manifest, _ = load_checkpoint(path)
    shape = tuple(input_shape) if input_shape else data_input_shape(manifest, trust)
    import torch

    example = torch.randn(BATCH, *shape)
    with atomic_path(out) as temp:
        if to == "onnx":
            export_onnx(model, example, temp)
        else:
            batch = torch.export.Dim("batch", min=1)
            program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
            torch.export.save(program, str(temp))
    return out


def write_state_dict(path: Any, out: Path, weights: str | None) -> Path:
    from accel.core.checkpoint import chosen_weights, load_checkpoint, model_state_dict
    from accel.core.checkpoint.safetensors_writer import write_safetensors

    manifest, tensors = load_checkpoint(path)
    state = {k: v.contiguous() for k, v in model_state_dict(manifest, tensors, weights).items()}
    metadata = {"format": "pt", "accel.weights": chosen_weights(manifest, weights)}
    with atomic_path(out) as temp:
        write_safetensors(str(temp), state, metadata)
    return out


def export_onnx(model: Any, example: Any, target: Path) -> None:
    """One self-contained ONNX file with a dynamic batch dimension."""
    import torch

    from accel.core.optional import require

    require("onnx", "onnx", "accel checkpoint convert --to onnx")  # torch's exporter needs it
    with warnings.catch_warnings():  # the TorchScript exporter: one file, fast (see README)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            str(target),
            dynamo=False,
            opset_version=17,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )


def data_input_shape(manifest: dict[str, Any], trust: bool | None) -> tuple[int, ...]:
    """The per-sample input shape the checkpoint's data module states (built by registry name)."""
    from accel.core.checkpoint import manifest_source
    from accel.core.registry import build_from_file

    spec = (manifest.get("config") or {}).get("data")
    hint = "give the input shape (e.g. --input-shape 1,8,8)"
    if spec is None:
        raise ConfigError(f"checkpoint {manifest['path']} stores no data config: {hint}")
    source = manifest_source(manifest)
    data = build_from_file("datasets", spec, source=source, key="config.data", trust=trust)
    shape = getattr(data, "input_shape", None)
    if not shape:
        raise ConfigError(f"data module {type(data).__name__} states no input_shape: {hint}")
    return tuple(int(d) for d in shape)
