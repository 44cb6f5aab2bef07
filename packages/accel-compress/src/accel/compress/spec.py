"""Save a pruned model portably: weights (safetensors) + a per-layer channel spec (JSON).

A pruned model no longer fits its original class's shapes, and torch-pruning's own files need a
pickle. The spec lists each layer's new sizes; `apply_spec` reshapes a freshly built original
architecture to them, after which the weights load normally. No pickle is involved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.compress.analysis import dedupe
from accel.compress.atomic import atomic_dir
from accel.core.errors import ConfigError

SIZE_ATTRS = (
    "in_channels",
    "out_channels",
    "groups",
    "in_features",
    "out_features",
    "num_features",
    "num_channels",
    "normalized_shape",
)
SPEC_FILE, WEIGHTS_FILE = "channels.json", "weights.safetensors"


def channel_spec(model: nn.Module, arch: str | None = None) -> dict[str, Any]:
    """Every layer's size attributes and every tensor's shape."""
    layers = {
        name: {a: getattr(m, a) for a in SIZE_ATTRS if hasattr(m, a)}
        for name, m in model.named_modules()
        if any(hasattr(m, a) for a in SIZE_ATTRS)
    }
    shapes = {k: list(v.shape) for k, v in model.state_dict().items() if torch.is_tensor(v)}
    return {"format": "accel-pruned/1", "arch": arch, "layers": layers, "shapes": shapes}


def apply_spec(model: nn.Module, spec: dict[str, Any]) -> nn.Module:
    """Reshape `model` (the original architecture) in place to the sizes in `spec`."""
    state = model.state_dict()
    missing = sorted(set(spec["shapes"]) - set(state))
    if missing:
        raise ConfigError(f"channel spec names tensors the architecture lacks: {missing[:5]}")
    for key, shape in spec["shapes"].items():
        if list(state[key].shape) != shape:
            resize_tensor(model, key, shape, state[key].dtype)
    for name, attrs in spec["layers"].items():
        module = model.get_submodule(name)
        for attr, value in attrs.items():
            setattr(module, attr, tuple(value) if isinstance(value, list) else value)
    return model


def resize_tensor(model: nn.Module, key: str, shape: list[int], dtype: torch.dtype) -> None:
    """Replace parameter or buffer `key` by an empty tensor of `shape`."""
    owner_name, _, leaf = key.rpartition(".")
    owner = model.get_submodule(owner_name) if owner_name else model
    empty = torch.empty(shape, dtype=dtype)
    if leaf in owner._parameters:
        setattr(owner, leaf, nn.Parameter(empty))
    else:
        owner.register_buffer(leaf, empty)


def save_pruned(model: nn.Module, folder: str | Path, arch: str | None = None) -> Path:
    """Write `weights.safetensors` + `channels.json` into `folder` (atomically, as a whole)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if torch.is_tensor(v)}
    with atomic_dir(folder) as temp:
        save_file(dedupe(state), str(temp / WEIGHTS_FILE))
        (temp / SPEC_FILE).write_text(json.dumps(channel_spec(model, arch), indent=1))
    return folder


def load_pruned(
    folder: str | Path, *, arch: str | None = None, model: nn.Module | None = None
) -> nn.Module:
    """The pruned model: `model` (or `arch` from the registry) reshaped, then its weights loaded."""
    from safetensors.torch import load_file

    folder = Path(folder)
    spec_path = folder if folder.suffix == ".json" else folder / SPEC_FILE
    if not spec_path.is_file():
        raise ConfigError(f"{folder} has no {SPEC_FILE}: not a folder written by save_pruned")
    spec = json.loads(spec_path.read_text())
    if model is None:
        name = arch or spec.get("arch")
        if not name:
            raise ConfigError(f"{spec_path} names no architecture: pass --arch NAME")
        from accel.compress.loading import build_arch

        model = build_arch(name)
    apply_spec(model, spec)
    model.load_state_dict(load_file(str(spec_path.parent / WEIGHTS_FILE)))
    return model.eval()
