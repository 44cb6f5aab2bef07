"""The architecture a state dict is loaded into: the user's `--arch NAME`, or a spec read
from a file (a pruned model's `channels.json`), built under accel-core's loading policy."""

from __future__ import annotations

from typing import Any

from torch import nn

from accel.core.errors import ConfigError


def build_arch(arch: Any, *, source: str | None = None, key: str = "arch") -> nn.Module:
    """The architecture `arch` names: the user's `--arch NAME`, or (with `source`) a spec read
    from that file, built under the loading policy."""
    from accel.core.registry import build, build_from_file

    if source is None:
        model = build("models", arch, config_key="--arch")
    else:
        model = build_from_file("models", arch, source=source, key=key)
    if not isinstance(model, nn.Module):
        where = "--arch" if source is None else f"{source}: {key}"
        raise ConfigError(f"{where} {arch!r} built a {type(model).__name__}, not a torch module")
    return model
