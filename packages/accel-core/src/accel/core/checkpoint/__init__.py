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
from accel.core.checkpoint.migrate import FORMAT_VERSION
from accel.core.checkpoint.store import (
    FORMAT,
    list_checkpoints,
    read_checkpoint,
    read_manifest,
    resolve_checkpoint,
    write_checkpoint,
)
from accel.core.registry import build_from_file
from accel.core.trust import check_file_spec

RAW_WEIGHTS = "raw"
__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "checkpoint_section",
    "chosen_weights",
    "list_checkpoints",
    "load_checkpoint",
    "load_model_state",
    "model_state_dict",
    "read_manifest",
    "rebuild_model",
    "resolve_checkpoint",
    "save_checkpoint",
    "weight_names",
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
    weights: Mapping[str, list[str]] | None = None,
    default_weights: str | None = None,
    point_last: bool = True,
) -> Path:
    """Write `state` (model under "model", plus anything else) as checkpoint `directory/name`.

    `weights` names further weight sets by their key path in `state` (`{"ema": ["callbacks",
    "EMA", "weights"]}`); `default_weights` is the set used to test and export by default;
    `point_last=False` leaves `directory/last` alone (a checkpoint made outside a run).
    """
    sets = {RAW_WEIGHTS: ["model"]} if "model" in state else {}
    sets.update({name: list(where) for name, where in (weights or {}).items()})
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
        "weights": sets,
        "default_weights": default_weights or RAW_WEIGHTS,
        "state": encoded,
    }
    return write_checkpoint(Path(directory), name, manifest, tensors, point_last=point_last)


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """`(manifest, tensors)` of a checkpoint dir, a `last` pointer, or a run dir (its last)."""
    return read_checkpoint(path)


def load_state(manifest: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The stored training state with tensors put back in place."""
    state = _decoded(manifest.get("state"), tensors, manifest, "state")
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {manifest.get('path')} has no state mapping")
    return state


def _decoded(
    value: Any, tensors: Mapping[str, torch.Tensor], manifest: Mapping[str, Any], key: str
) -> Any:
    """`decode(value)`; a malformed manifest is one CheckpointError naming the checkpoint."""
    try:
        return decode(value, tensors)
    except CheckpointError as error:
        raise CheckpointError(f"checkpoint {manifest.get('path')}: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(
            f"checkpoint {manifest.get('path')}: malformed {key} ({type(error).__name__}: {error})"
        ) from None


def weight_names(manifest: Mapping[str, Any]) -> list[str]:
    """The weight sets a checkpoint names (`raw`, and `ema`/`swa` when averaged)."""
    sets = manifest.get("weights")
    named = [str(k) for k in sets] if isinstance(sets, Mapping) else []
    return list(dict.fromkeys([RAW_WEIGHTS, *named]))


def chosen_weights(manifest: Mapping[str, Any], weights: str | None = None) -> str:
    """The weight set `weights` names (None or "default": the checkpoint's default)."""
    if weights in (None, "default"):
        default = manifest.get("default_weights")
        return default if isinstance(default, str) else RAW_WEIGHTS
    assert weights is not None
    return weights


def model_state_dict(
    manifest: Mapping[str, Any],
    tensors: Mapping[str, torch.Tensor],
    weights: str | None = None,
) -> dict[str, torch.Tensor]:
    """The model's weights (a state dict) from a loaded checkpoint: the weight set `weights`
    (`raw`, `ema`, `swa`; None: the checkpoint's default, i.e. averaged weights if present)."""
    name = chosen_weights(manifest, weights)
    stored_sets = manifest.get("weights")
    sets = {RAW_WEIGHTS: ["model"], **(stored_sets if isinstance(stored_sets, Mapping) else {})}
    where = sets.get(name)
    if not isinstance(where, list) or not all(isinstance(k, str) for k in where):
        raise CheckpointError(
            f"checkpoint {manifest.get('path')} has no {name!r} weights; it has: "
            f"{', '.join(weight_names(manifest)) or 'none'}"
        )
    node: Any = manifest.get("state")
    for key in where:
        node = node.get(key) if isinstance(node, Mapping) else None
    label = "state." + ".".join(where)
    if node is None:
        raise CheckpointError(f"checkpoint {manifest.get('path')} holds no model weights ({label})")
    state = _decoded(node, tensors, manifest, label)
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(
            f"checkpoint {manifest.get('path')}: {label} is not a mapping of tensors"
        )
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
    check_no_nan(state, source)
    model.load_state_dict(dict(state))


def check_no_nan(state: Mapping[str, torch.Tensor], source: str) -> None:
    """Refuse weights holding NaN: a model that computes nothing useful must not load quietly.
    (Infinities are left alone: attention masks hold -inf on purpose.)"""
    broken = [k for k, v in state.items() if v.is_floating_point() and bool(torch.isnan(v).any())]
    if broken:
        raise CheckpointError(
            f"checkpoint {source} holds NaN weights ({_few(broken)}): it was saved from a "
            "diverged model; use an earlier checkpoint"
        )


def _few(items: list[str], limit: int = 3) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def checkpoint_section(manifest: Mapping[str, Any], key: str, *, trust: bool | None = None) -> Any:
    """A section of a loaded checkpoint's stored config (`model.spec`, `config.data`, ...),
    checked by the loading policy: a `_target_` in it is refused unless trusted."""
    value: Any = manifest
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return check_file_spec(value, manifest_source(manifest), key, trust=trust)


def manifest_source(manifest: Mapping[str, Any]) -> str:
    return f"{manifest.get('path', 'checkpoint')}/manifest.json"


def rebuild_model(
    path: str | os.PathLike[str], *, trust: bool | None = None, weights: str | None = None
) -> nn.Module:
    """Build the model a checkpoint was trained with (from its config) and load its weights
    (`weights`: raw, ema, swa; by default the checkpoint's default, averaged if present).

    The stored spec comes from a file: it may name a registered model, not code to import,
    unless `trust` (or `accel.core.trust.trusting_files`) says the file is trusted.
    """
    manifest, tensors = load_checkpoint(path)
    spec = (manifest.get("model") or {}).get("spec")
    if spec is None:
        raise CheckpointError(
            f"checkpoint {manifest['path']} stores no model config (written by a library run "
            "without Trainer(config={'model': ...})): build the model and load model_state_dict"
        )
    source = manifest_source(manifest)
    model = build_from_file("models", spec, source=source, key="model.spec", trust=trust)
    load_model_state(model, model_state_dict(manifest, tensors, weights), manifest["path"])
    return model
