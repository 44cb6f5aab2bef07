"""Check config arguments against a factory's signature before calling it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from accel.core.errors import ConfigError


def check_arguments(factory: Callable[..., Any], kwargs: Mapping[str, Any], label: str) -> None:
    """Raise ConfigError naming unknown or missing arguments and the ones that are accepted."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown: list[str] = []
    else:
        unknown = [k for k in kwargs if k not in params]
    accepted = ", ".join(
        n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )
    if unknown:
        raise ConfigError(
            f"{label}: unexpected argument {', '.join(map(repr, unknown))}; "
            f"accepted: {accepted or 'none'}"
        )
    missing = [
        n
        for n, p in params.items()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and n not in kwargs
    ]
    if missing:
        raise ConfigError(f"{label}: missing required argument {', '.join(map(repr, missing))}")
