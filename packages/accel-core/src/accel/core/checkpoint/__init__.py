"""Checkpoints: safetensors + a JSON manifest, written atomically, loadable with no pickle.

`load_checkpoint(path) -> (manifest, tensors)` reads one; `rebuild_model(path)` rebuilds the
model from its stored config through the registry and loads the weights.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.core.checkpoint.codec import CheckpointError, TensorStore, decode, encode
from accel.core.checkpoint.store import (
    FORMAT,
    list_checkpoints,
    read_checkpoint,
    resolve_checkpoint,
    write_checkpoint,
)
from accel.core.registry import build

FORMAT_VERSION = 1
__all__ = [
    "CheckpointError",
    "list_checkpoints",
    "load_checkpoint",
    "load_model_state",
    "model_state_dict",
    "rebuild_model",
    "resolve_checkpoint",
    "save_checkpoint",
]


def versions() -> dict[str, str]:
    """Versions of what wrote a checkpoint (for diagnosing a resume on another install)."""
    found = {"python": platform.python_version(), "torch": torch.__version__}
    for dist in ("accel-core", "numpy", "safetensors", "torchmetrics"):
        with contextlib.suppress(PackageNotFoundError):
            found[dist] = version(dist)
    return found


def save_checkpoint(
    directory: str | os.PathLike[str],
    name: str,
    state: Mapping[str, Any],
    *,
    config: Mapping[str, Any] | None = None,
    model_class: str | None = None,
) -> Path:
    """Write `state` (model under "model", plus anything else) as checkpoint `directory/name`."""
    store = TensorStore()
    encoded = encode(dict(state), "", store)
    tensors = store.tensors
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": versions(),
        "config": dict(config) if config is not None else None,
        "model": {"class": model_class, "spec": (config or {}).get("model")},
        "state": encoded,
    }
    return write_checkpoint(Path(directory), name, manifest, tensors)


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """`(manifest, tensors)` of a checkpoint dir, a `last` pointer, or a run dir (its last)."""
    return read_checkpoint(path)


def load_state(manifest: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The stored training state with tensors put back in place."""
    state = decode(manifest["state"], tensors)
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {manifest.get('path')} has no state mapping")
    return state


def model_state_dict(
    manifest: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The model's weights (a state dict) from a loaded checkpoint."""
    model = manifest["state"].get("model")
    if model is None:
        raise CheckpointError(f"checkpoint {manifest.get('path')} holds no model weights")
    state = decode(model, tensors)
    assert isinstance(state, dict)
    return state


def load_model_state(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load weights strictly, or say in one line which keys and shapes do not fit."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    problems = [
        f"{label} {_few(items)}"
        for label, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("shape", mismatched),
        )
        if items
    ]
    if problems:
        raise CheckpointError(
            f"checkpoint {source} does not fit model {type(model).__name__}: " + "; ".join(problems)
        )
    model.load_state_dict(dict(state))


def _few(items: list[str], limit: int = 3) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def rebuild_model(path: str | os.PathLike[str]) -> nn.Module:
    """Build the model a checkpoint was trained with (from its config) and load its weights."""
    manifest, tensors = load_checkpoint(path)
    spec = (manifest.get("model") or {}).get("spec")
    if spec is None:
        raise CheckpointError(
            f"checkpoint {manifest['path']} stores no model config (written by a library run "
            "without Trainer(config={'model': ...})): build the model and load model_state_dict"
        )
    model = build("models", spec)
    load_model_state(model, model_state_dict(manifest, tensors), manifest["path"])
    return model
