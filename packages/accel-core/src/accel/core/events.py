"""The closed set of loop events and the named callback priorities.

Lower priority runs first; callbacks of equal priority keep the order they were given in.
"""

from __future__ import annotations

import difflib

from accel.core.errors import ConfigError

EVENTS: tuple[str, ...] = (
    "fit_start",
    "fit_end",
    "epoch_start",
    "epoch_end",
    "batch_start",
    "batch_end",
    "before_backward",
    "after_backward",
    "optimizer_step",
    "validation_start",
    "validation_end",
    "test_start",
    "test_end",
    "eval_batch_end",
    "checkpoint_save",
    "checkpoint_load",
    "exception",
)

PRIORITIES: dict[str, int] = {
    "highest": 0,
    "high": 25,
    "normal": 50,
    "low": 75,
    "lowest": 100,
}


def _hint(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    return f". Did you mean '{close[0]}'?" if close else ""


def check_event(name: str) -> str:
    """Return `name` if it is an event, else raise naming the valid events."""
    if name not in EVENTS:
        raise ConfigError(
            f"unknown event '{name}'; valid events: {', '.join(EVENTS)}{_hint(name, list(EVENTS))}"
        )
    return name


def resolve_priority(priority: int | str) -> int:
    """An int priority as is, or a named one (highest, high, normal, low, lowest)."""
    if isinstance(priority, bool):
        raise ConfigError(f"callback priority must be an int or a name, got {priority!r}")
    if isinstance(priority, int):
        return priority
    if isinstance(priority, str) and priority in PRIORITIES:
        return PRIORITIES[priority]
    valid = ", ".join(f"{k} ({v})" for k, v in PRIORITIES.items())
    hint = _hint(priority, list(PRIORITIES)) if isinstance(priority, str) else ""
    raise ConfigError(
        f"unknown callback priority {priority!r}; use an int or one of: {valid}{hint}"
    )
