"""A pruned model, saved portably: weights (safetensors) + a per-layer channel spec (JSON).

A pruned model no longer fits its original class's shapes, and torch-pruning's own files need a
pickle. The spec lists each layer's new sizes and the registry spec of the original
architecture (`arch`); `apply_spec` reshapes a freshly built original architecture to them,
after which the weights load normally. No pickle is involved. `accel compress` writes this
folder and `accel pipeline` hands it from step to step: one format, opened by both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

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
Arch = str | Mapping[str, Any] | None  # a registry name or spec of the original architecture


def dedupe(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Clone tensors that share storage, which safetensors refuses to save."""
    seen: set[int] = set()
    out = {}
    for key, value in state.items():
        ptr = value.untyped_storage().data_ptr()
        out[key] = value.clone() if ptr in seen else value
        seen.add(ptr)
    return out


def channel_spec(model: nn.Module, arch: Arch = None) -> dict[str, Any]:
    """Every layer's size attributes and every tensor's shape."""
    layers = {
        name: {a: getattr(m, a) for a in SIZE_ATTRS if hasattr(m, a)}
        for name, m in model.named_modules()
        if any(hasattr(m, a) for a in SIZE_ATTRS)
    }
    shapes = {k: list(v.shape) for k, v in model.state_dict().items() if torch.is_tensor(v)}
    return {"format": "accel-pruned/1", "arch": arch, "layers": layers, "shapes": shapes}


def apply_spec(model: nn.Module, spec: dict[str, Any], source: str = "channel spec") -> nn.Module:
    """Reshape `model` (the original architecture) in place to the sizes in `spec` (read from
    `source`); a layer or tensor the architecture lacks is one line naming it."""
    check_spec_fits(model, spec, source)
    state = model.state_dict()
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


def save_pruned(model: nn.Module, folder: str | Path, arch: Arch = None) -> Path:
    """Write `weights.safetensors` + `channels.json` into `folder`, swapped in as a whole (an
    accel-owned folder: a folder holding a user's other files is refused)."""
    from safetensors.torch import save_file

    from accel.core.outputs import output_folder

    folder = Path(folder)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if torch.is_tensor(v)}
    with output_folder(folder, owner="accel save_pruned", key="pruned folder") as temp:
        save_file(dedupe(state), str(temp / WEIGHTS_FILE))
        (temp / SPEC_FILE).write_text(json.dumps(channel_spec(model, arch), indent=1))
    return folder


def load_pruned(
    folder: str | Path, *, model: nn.Module | None = None, trust: bool | None = None
) -> nn.Module:
    """The pruned model: `model` (the original architecture; else the one the spec's `arch`
    names, a file's spec built under the loading policy) reshaped, then its weights loaded."""
    folder = Path(folder)
    spec_path = folder if folder.suffix == ".json" else folder / SPEC_FILE
    if not spec_path.is_file():
        raise ConfigError(f"{folder} has no {SPEC_FILE}: not a folder written by save_pruned")
    spec = read_spec(spec_path)
    weights = spec_path.parent / WEIGHTS_FILE
    check_weight_shapes(spec, spec_path, weights)
    if model is None:
        model = spec_model(spec, spec_path, trust)
    apply_spec(model, spec, str(spec_path))
    load_weights(model, weights)
    return model.eval()


def is_pruned_folder(path: str | Path) -> bool:
    """True for a folder `save_pruned` wrote (or its `channels.json`)."""
    path = Path(path)
    return (path / SPEC_FILE).is_file() or (path.suffix == ".json" and path.is_file())


def spec_model(spec: dict[str, Any], spec_path: Path, trust: bool | None) -> nn.Module:
    """The architecture the spec's `arch` names, built under the loading policy."""
    from accel.core.registry import build_from_file

    if not spec.get("arch"):
        raise ConfigError(f"{spec_path} names no architecture: pass --arch NAME")
    model = build_from_file("models", spec["arch"], source=str(spec_path), key="arch", trust=trust)
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{spec_path}: arch built a {type(model).__name__}, not a torch module")
    return model


def read_spec(path: Path) -> dict[str, Any]:
    """`channels.json`, checked for shape: `layers` {name: {size attr: int or [ints]}},
    `shapes` {tensor: [ints]}, `arch` a name or a mapping."""
    try:
        spec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ConfigError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: expected a mapping with 'layers' and 'shapes'")
    for key in ("layers", "shapes"):
        if not isinstance(spec.get(key), dict):
            raise ConfigError(f"{path}: '{key}' must be a mapping, got {type_name(spec.get(key))}")
    if spec.get("arch") is not None and not isinstance(spec["arch"], str | dict):
        raise ConfigError(f"{path}: 'arch' must be a registry name or a mapping")
    for name, attrs in spec["layers"].items():
        check_layer(path, name, attrs)
    for name, shape in spec["shapes"].items():
        if not is_sizes(shape) or not isinstance(shape, list):
            raise ConfigError(f"{path}: shapes.{name} must be a list of sizes >= 0, got {shape!r}")
    return spec


def check_layer(path: Path, name: str, attrs: Any) -> None:
    if not isinstance(attrs, dict):
        raise ConfigError(f"{path}: layers.{name} must be a mapping, got {type_name(attrs)}")
    for attr, value in attrs.items():
        if attr not in SIZE_ATTRS:
            raise ConfigError(
                f"{path}: layers.{name}.{attr} is not a size attribute "
                f"(valid: {', '.join(SIZE_ATTRS)})"
            )
        if not is_sizes(value):
            raise ConfigError(
                f"{path}: layers.{name}.{attr} must be a size >= 0 or a list of them, got {value!r}"
            )


def is_sizes(value: Any) -> bool:
    """An int >= 0, or a list of them (not bools, not floats)."""
    items = value if isinstance(value, list) else [value]
    return all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in items)


def type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def check_spec_fits(model: nn.Module, spec: dict[str, Any], path: str) -> None:
    """Every layer and tensor the spec names exists in the architecture, with that attribute."""
    modules = dict(model.named_modules())
    unknown = [n for n in spec["layers"] if n not in modules]
    missing = sorted(set(spec["shapes"]) - set(model.state_dict()))
    if unknown or missing:
        names = (unknown + missing)[:5]
        raise ConfigError(f"{path} names layers or tensors the architecture lacks: {names}")
    for name, attrs in spec["layers"].items():
        absent = [a for a in attrs if not hasattr(modules[name], a)]
        if absent:
            raise ConfigError(f"{path}: layers.{name} has no attribute {absent[0]!r}")


def check_weight_shapes(spec: dict[str, Any], spec_path: Path, weights: Path) -> None:
    """The spec's shapes are those of the tensors in the weights file (read from its header,
    no tensor loaded): a spec cannot make accel allocate what the file does not hold."""
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            stored = {k: list(handle.get_slice(k).get_shape()) for k in handle.keys()}  # noqa: SIM118
    except Exception as error:
        text = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ConfigError(f"pruned weights {weights} are unreadable: {text}") from None
    wrong = [k for k, shape in spec["shapes"].items() if stored.get(k, shape) != shape]
    if wrong:
        raise ConfigError(
            f"{spec_path}: shapes.{wrong[0]} is {spec['shapes'][wrong[0]]}, but {weights.name} "
            f"holds {stored[wrong[0]]}"
        )


def load_weights(model: nn.Module, path: Path) -> None:
    """The safetensors weights, strictly; a missing, corrupt or misfit file is one line."""
    from safetensors.torch import load_file

    try:
        model.load_state_dict(load_file(str(path)))
    except Exception as error:
        text = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ConfigError(f"pruned weights {path} do not load: {text}") from None
