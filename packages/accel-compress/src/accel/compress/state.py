"""State dicts into architectures: read without pickle, wrapper prefixes stripped, loaded strictly.

A state dict comes from a `.safetensors` file (no pickle at all) or a torch.save file read
weights-only (see `accel.compress.loading`). Keys saved through `nn.DataParallel` (`module.`)
or `torch.compile` (`_orig_mod.`) are stripped when every key has the prefix and the model's
do not, and a mismatch names the first differing keys, not torch's page-long message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.core.errors import ConfigError

WRAPPER_PREFIXES = ("module.", "_orig_mod.")
SHOWN = 3  # keys named per kind of mismatch


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a `.safetensors` file (a header and raw bytes: nothing is unpickled)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        text = " ".join(str(error).split())[:200] or type(error).__name__
        raise ConfigError(f"{path} is not a readable safetensors file: {text}") from None


def strip_prefixes(state: dict[str, Any], expected: set[str]) -> dict[str, Any]:
    """`state` without wrapper prefixes (`module.`, `_orig_mod.`) every key has and the model's
    keys (`expected`) lack; a model whose own keys start so is left as it is."""
    changed = True
    while changed and state:
        changed = False
        for prefix in WRAPPER_PREFIXES:
            if all(k.startswith(prefix) for k in state) and not expected <= set(state):
                state = {k[len(prefix) :]: v for k, v in state.items()}
                changed = True
    return state


def mismatch(model: nn.Module, state: dict[str, Any]) -> str | None:
    """The first missing, unexpected and differently shaped keys of `state` for `model`, or
    None when it fits. A key tied to another (shared storage, e.g. an LM head and its
    embeddings, which save_pretrained writes once) may be missing."""
    expected = model.state_dict()
    tied = tied_keys(expected, set(state))
    missing = [k for k in expected if k not in state and k not in tied]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {list(state[k].shape)} in the file, {list(v.shape)} in the model"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    parts = [
        f"{label} {first(keys)}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape", shapes))
        if keys
    ]
    return "; ".join(parts) or None


def tied_keys(expected: dict[str, torch.Tensor], present: set[str]) -> set[str]:
    """Keys of `expected` sharing storage with a key in `present` (tied weights)."""
    loaded = {storage(v) for k, v in expected.items() if k in present}
    return {k for k, v in expected.items() if k not in present and storage(v) in loaded}


def storage(tensor: torch.Tensor) -> tuple[int, tuple[int, ...]]:
    return tensor.data_ptr(), tuple(tensor.shape)


def first(keys: list[str]) -> str:
    more = f" (+{len(keys) - SHOWN} more)" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def load_state(
    model: nn.Module, state: dict[str, Any], where: str, shape_hint: str = ""
) -> nn.Module:
    """`model` in eval mode with `state` loaded strictly (tied weights aside); a mismatch is
    one ConfigError naming `where` (the file) and the first differing keys, plus `shape_hint`
    when sizes differ."""
    state = strip_prefixes(state, set(model.state_dict()))
    problem = mismatch(model, state)
    if problem is not None:
        hint = shape_hint if "shape " in problem else ""
        raise ConfigError(f"weights in {where} do not fit the architecture: {problem}{hint}")
    try:
        model.load_state_dict(state, strict=False)  # exactness was checked above
    except RuntimeError as error:
        text = " ".join(str(error).split())[:200]
        raise ConfigError(f"weights in {where} do not fit the architecture: {text}") from None
    return model.eval()
