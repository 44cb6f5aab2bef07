"""Pruned models in accel-core's portable format (`accel.core.pruned`), opened with the
user's `--arch NAME` when the spec names no architecture or the user wants another."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from accel.core.pruned import SPEC_FILE, WEIGHTS_FILE, channel_spec, save_pruned
from accel.core.pruned import load_pruned as load_core

__all__ = ["SPEC_FILE", "WEIGHTS_FILE", "channel_spec", "load_pruned", "save_pruned"]


def load_pruned(
    folder: str | Path,
    *,
    arch: str | None = None,
    model: nn.Module | None = None,
    trust: bool | None = None,
) -> nn.Module:
    """The pruned model in `folder`, reshaped from `model`, else `arch` (a registry name the
    user gave), else the architecture its spec names (built under the loading policy)."""
    from accel.compress.arch import build_arch

    if model is None and arch:
        model = build_arch(arch)
    return load_core(folder, model=model, trust=trust)
