"""A nested config as flat dotted keys (list items indexed), and its stable hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": [1, {"c": 2}]}}` -> `{"a.b.0": 1, "a.b.1.c": 2}`; empty containers kept."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        _flatten_into(flat, f"{prefix}{key}", value)
    return flat


def _flatten_into(flat: dict[str, Any], key: str, value: Any) -> None:
    if isinstance(value, Mapping) and value:
        for sub, item in value.items():
            _flatten_into(flat, f"{key}.{sub}", item)
    elif isinstance(value, list | tuple) and value:
        for index, item in enumerate(value):
            _flatten_into(flat, f"{key}.{index}", item)
    else:
        flat[key] = value


def format_value(value: Any) -> str:
    """A param value as text: strings as they are, everything else as JSON (null, true, [])."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the config as canonical JSON: equal configs, equal hashes."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
