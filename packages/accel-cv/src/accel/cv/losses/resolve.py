"""Turn a loss given as a callable or as a registry spec into a callable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from accel.core.registry import build

LossSpec = Callable[..., Any] | str | Mapping[str, Any]


def resolve_loss(spec: LossSpec) -> Callable[..., Any]:
    """A callable stays as it is; a name or `{name: ..., ...}` is built from `accel.losses`."""
    if callable(spec):
        return spec
    return build("losses", spec)
