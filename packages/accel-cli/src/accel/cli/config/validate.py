"""Check a composed config before anything heavy runs: keys, component specs, value types.

Checks read registry metadata only (no plugin import); argument names and values are checked
again by the registry when components are built.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from accel.cli.config.groups import COMPONENT_GROUPS, GROUP_KINDS, TOP_LEVEL_KEYS
from accel.core.errors import ConfigError
from accel.core.registry import registry

NULLABLE_GROUPS = ("scheduler", "tracker")


def validate(config: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> None:
    """Raise ConfigError for the first problem: unknown top-level key, bad spec, wrong type
    (compared with `defaults` when given)."""
    check_top_level(config)
    for group in COMPONENT_GROUPS:
        if group in config:
            check_component(group, config[group])
    check_callbacks(config.get("callbacks"))
    check_metrics(config.get("metrics"))
    check_threads(config.get("threads"))
    if defaults is not None:
        check_types(config, defaults)


def check_top_level(config: Mapping[str, Any]) -> None:
    for key in config:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"{key}: unknown top-level key{_closest(key, TOP_LEVEL_KEYS)}")


def check_component(group: str, spec: Any) -> None:
    """A spec is `{name: ..., **kwargs}` or `{_target_: ..., **kwargs}` (null where optional)."""
    if spec is None and group in NULLABLE_GROUPS:
        return
    kind = GROUP_KINDS[group]
    assert kind is not None
    names = registry(kind).names()
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"{group}: expected a mapping with 'name' (one of: {', '.join(names) or 'none'}) "
            f"or '_target_', got {type(spec).__name__} {spec!r}"
        )
    if "name" in spec and "_target_" in spec:
        raise ConfigError(f"{group}: received both name and _target_. Choose one.")
    if "_target_" in spec:
        if not isinstance(spec["_target_"], str) or not spec["_target_"]:
            raise ConfigError(f"{group}._target_: expected a dotted path like 'pkg.mod.Class'")
        return
    if "name" not in spec:
        raise ConfigError(
            f"{group}: needs 'name' (one of: {', '.join(names) or 'none'}) or '_target_'"
        )
    registry(kind).entry(str(spec["name"]))  # UnknownNameError lists names, suggests one


def check_callbacks(callbacks: Any) -> None:
    """`callbacks` maps a key to a spec (or null to disable that callback)."""
    if callbacks is None:
        return
    if not isinstance(callbacks, Mapping):
        raise ConfigError(
            f"callbacks: expected a mapping of key -> {{name: ...}}, got {type(callbacks).__name__}"
        )
    known = registry("callbacks").names()
    for key, spec in callbacks.items():
        if spec is None:
            continue
        if not isinstance(spec, Mapping) or not ("name" in spec or "_target_" in spec):
            raise ConfigError(
                f"callbacks.{key}: expected {{name: ...}} (one of: {', '.join(known) or 'none'}) "
                f"or {{_target_: ...}}, got {spec!r}"
            )
        if "name" in spec:
            registry("callbacks").entry(str(spec["name"]))


def check_metrics(metrics: Any) -> None:
    if metrics is None:
        return
    if not isinstance(metrics, list | tuple):
        raise ConfigError(f"metrics: expected a list like [accuracy], got {metrics!r}")
    for i, metric in enumerate(metrics):
        if not isinstance(metric, str | Mapping):
            raise ConfigError(f"metrics[{i}]: expected a name or a mapping, got {metric!r}")


def check_threads(threads: Any) -> None:
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ConfigError(f"threads: expected an int >= 1 or null, got {threads!r}")


def check_types(config: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """A value whose default is a bool/int/float must keep that type (int is fine for float)."""
    leaves = sorted(_shared_leaves(config, defaults), key=lambda leaf: leaf[0].count("."))
    for key, default, value in leaves:  # shallow keys first: `seed` before `data.seed`
        expected = _scalar_type(default)
        if expected is None or value is None:
            continue
        if not _fits(value, expected):
            raise ConfigError(
                f"{key}: expected {expected.__name__}, got {type(value).__name__} {value!r}"
            )


def _shared_leaves(
    config: Mapping[str, Any], defaults: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, Any, Any]]:
    for key, default in defaults.items():
        if key not in config:
            continue
        value, path = config[key], f"{prefix}{key}"
        if isinstance(default, Mapping) and isinstance(value, Mapping):
            if "name" in default and default.get("name") != value.get("name"):
                continue  # another component: its arguments are its own
            yield from _shared_leaves(value, default, path + ".")
        elif not isinstance(default, Mapping):
            yield path, default, value


def _scalar_type(value: Any) -> type | None:
    for kind in (bool, int, float):
        if isinstance(value, kind):
            return kind
    return None


def _fits(value: Any, expected: type) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if expected is float:
        return isinstance(value, int | float)
    return isinstance(value, expected)


def _closest(key: str, valid: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f". Did you mean '{close[0]}'?" if close else ""
    return f"; valid keys: {', '.join(valid)}{hint}"
