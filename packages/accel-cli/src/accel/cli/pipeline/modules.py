"""Save a (possibly pruned) torch model portably and load it back without pickle.

The file holds the weights (safetensors) and the registry spec of the original architecture.
Loading builds that architecture and resizes each Conv/Linear/BatchNorm layer to the stored
weight shapes before loading them: the channel spec of a pruned model is in its weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from accel.core.atomic import write_bytes_atomic
from accel.core.errors import ConfigError

SPEC_KEY = "accel_model_spec"


def save_module(model: nn.Module, spec: Any, path: Path) -> Path:
    """Write `model`'s weights and its spec to one safetensors file."""
    from safetensors.torch import save

    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    data = save(state, metadata={SPEC_KEY: json.dumps(spec)})
    return write_bytes_atomic(path, data)


def load_module(path: Path) -> nn.Module:
    """The model saved by `save_module`, with its stored (e.g. pruned) layer sizes.

    The file may come from anywhere: its spec goes through the loading policy (a registered
    name, or a `_target_` only where trusted) before anything is built."""
    from accel.core.checkpoint import load_model_state
    from accel.core.registry import build_from_file

    metadata, state = read_module_file(path)
    if SPEC_KEY not in metadata:
        raise ConfigError(f"{path}: not a model saved by accel pipeline (no {SPEC_KEY})")
    try:
        spec = json.loads(metadata[SPEC_KEY])
    except (ValueError, RecursionError) as error:
        raise ConfigError(f"{path}: {SPEC_KEY} is not valid JSON ({error})") from None
    model = build_from_file("models", spec, source=str(path), key=SPEC_KEY)
    fit_to_state(model, state)
    load_model_state(model, state, str(path))
    return model


def read_module_file(path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """The metadata and tensors of a safetensors file; any failure to read it is one line."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        return dict(metadata), load_file(str(path))
    except Exception as error:  # OSError, a truncated or foreign file: safetensors' own errors
        message = " ".join(str(error).split()) or type(error).__name__
        raise ConfigError(f"{path}: not a readable safetensors model file ({message})") from None


def fit_to_state(model: nn.Module, state: dict[str, Any]) -> None:
    """Replace each Conv2d, Linear and BatchNorm2d whose stored weight has another shape."""
    for name, module in list(model.named_modules()):
        weight = state.get(f"{name}.weight" if name else "weight")
        if weight is None or not hasattr(module, "weight") or module.weight is None:
            continue
        if tuple(weight.shape) == tuple(module.weight.shape):
            continue
        _set_module(model, name, _resized(module, tuple(weight.shape), name, state))


def _resized(module: nn.Module, shape: tuple[int, ...], name: str, state: dict[str, Any]) -> Any:
    has_bias = f"{name}.bias" in state
    if isinstance(module, nn.Conv2d):
        depthwise = module.groups == module.in_channels and module.groups > 1
        groups = shape[0] if depthwise else module.groups
        return nn.Conv2d(
            shape[1] * groups,
            shape[0],
            module.kernel_size,  # type: ignore[arg-type]
            module.stride,  # type: ignore[arg-type]
            module.padding,  # type: ignore[arg-type]
            module.dilation,  # type: ignore[arg-type]
            groups,
            has_bias,
            module.padding_mode,
        )
    if isinstance(module, nn.Linear):
        return nn.Linear(shape[1], shape[0], bias=has_bias)
    if isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        return type(module)(
            shape[0], module.eps, module.momentum, module.affine, module.track_running_stats
        )
    raise ConfigError(
        f"cannot resize layer {name} ({type(module).__name__}) to {shape}: only Conv2d, Linear "
        "and BatchNorm layers are resized when loading a pruned model"
    )


def _set_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)
