"""Average of several checkpoints' weights (a "model soup" of the last N of a run): uniform, or
EMA-style, each older checkpoint weighted `decay` times the one after it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from accel.core.checkpoint.codec import CheckpointError
from accel.core.checkpoint.store import list_checkpoints, read_checkpoint, read_manifest


def last_checkpoints(run: str | os.PathLike[str], count: int) -> list[Path]:
    """The `count` latest checkpoints (by training step) of a run dir or checkpoints dir."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise CheckpointError(f"--last must be an int >= 1, got {count!r}")
    root = Path(run)
    directory = root / "checkpoints" if (root / "checkpoints").is_dir() else root
    found = list_checkpoints(directory)
    if len(found) < count:
        raise CheckpointError(
            f"{directory} holds {len(found)} checkpoints; cannot average the last {count}"
        )
    return sorted(found, key=_step)[-count:]


def _step(path: Path) -> tuple[int, str]:
    loop = (read_manifest(path).get("state") or {}).get("loop") or {}
    step = loop.get("global_step") if isinstance(loop, dict) else None
    return (step if isinstance(step, int) else -1, path.name)


def average_checkpoints(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    weights: str | None = None,
    decay: float | None = None,
) -> Path:
    """Write checkpoint `out` with the average of the weights of `paths`, oldest first (their
    default weight set unless `weights` names one); the newest's config describes it.
    Uniform, or with `decay` in (0, 1] EMA-style: checkpoint i of n weighs decay**(n-1-i), the
    newest 1. Floating tensors are averaged in float64; integer buffers are the newest's."""
    from accel.core.checkpoint import model_state_dict, save_checkpoint

    out = Path(out)
    if out.exists():
        raise CheckpointError(f"{out} exists; choose another output (nothing is overwritten)")
    if not paths:
        raise CheckpointError("no checkpoints to average")
    if decay is not None and (isinstance(decay, bool) or not 0.0 < float(decay) <= 1.0):
        raise CheckpointError(f"--decay must be a number in (0, 1], got {decay!r}")
    coefficients = [float(decay or 1.0) ** (len(paths) - 1 - i) for i in range(len(paths))]
    total: dict[str, torch.Tensor] = {}
    dtypes: dict[str, torch.dtype] = {}
    manifest: dict[str, Any] = {}
    for path, coefficient in zip(paths, coefficients, strict=True):
        manifest, tensors = read_checkpoint(path)
        found = model_state_dict(manifest, tensors, weights)
        check_same_layout(total, found, manifest["path"])
        for key, value in found.items():
            dtypes[key] = value.dtype
            if not value.is_floating_point():
                total[key] = value  # integer buffers (step counts): the newest's
            else:
                part = value.double() * coefficient
                total[key] = total[key] + part if key in total else part
    averaged = {
        k: (v / sum(coefficients)).to(dtypes[k]) if dtypes[k].is_floating_point else v
        for k, v in total.items()
    }
    state = {"model": averaged, "averaged_from": [str(Path(p)) for p in paths]}
    model = manifest.get("model") or {}
    return save_checkpoint(
        out.parent,
        out.name,
        state,
        config=manifest.get("config"),
        model_class=model.get("class"),
        point_last=False,
    )


def check_same_layout(
    total: dict[str, torch.Tensor], weights: dict[str, torch.Tensor], source: str
) -> None:
    """The weights to add have the keys and shapes of those added so far."""
    if total and total.keys() != weights.keys():
        raise CheckpointError(
            f"checkpoint {source} has other weights than the first: cannot average"
        )
    for key, value in weights.items():
        if key in total and total[key].shape != value.shape:
            raise CheckpointError(
                f"checkpoint {source}: {key} has shape {tuple(value.shape)}, the first "
                f"{tuple(total[key].shape)}: cannot average"
            )
