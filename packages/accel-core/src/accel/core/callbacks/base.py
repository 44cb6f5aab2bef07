"""The callback base class and the dispatcher that orders callbacks and fires events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from accel.core.errors import ConfigError
from accel.core.events import EVENTS, check_event, resolve_priority

Handler = Callable[[Any], None]


class Callback:
    """Subclass and define `on_<event>(self, state)` for the events you need.

    `priority` (int or highest/high/normal/low/lowest) orders callbacks: lower runs first.
    `state_dict`/`load_state_dict` let a callback's state travel in checkpoints.
    `main_process_only = True` runs it on the main process only when there are several
    (for callbacks that print or write); by default a callback runs on every process.
    """

    priority: int | str = "normal"
    main_process_only: bool = False

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (default: nothing to restore)."""


def event_methods(callback: object) -> list[str]:
    """The events `callback` handles; an `on_*` method that is no event is rejected."""
    names = [n for n in dir(callback) if n.startswith("on_") and callable(getattr(callback, n))]
    for name in names:
        try:
            check_event(name[3:])
        except ConfigError as error:
            raise ConfigError(
                f"callback {type(callback).__name__} defines {name}: {error}"
            ) from None
    return [n[3:] for n in names]


class CallbackList:
    """Callbacks sorted by priority (stable for ties) with per-event handler lists."""

    def __init__(self, callbacks: Iterable[object]) -> None:
        given = list(callbacks)
        keyed = [
            (resolve_priority(getattr(c, "priority", "normal")), i, c) for i, c in enumerate(given)
        ]
        self.callbacks: list[object] = [c for _, _, c in sorted(keyed, key=lambda t: t[:2])]
        self.handlers: dict[str, list[Handler]] = {event: [] for event in EVENTS}
        for callback in self.callbacks:
            for event in event_methods(callback):
                self.handlers[event].append(getattr(callback, f"on_{event}"))

    def fire(self, event: str, state: Any) -> None:
        """Call every handler of `event` in order."""
        for handler in self.handlers[event]:
            handler(state)

    def __iter__(self) -> Any:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def keyed(self) -> dict[str, object]:
        """Callbacks under stable keys (`ClassName` or `ClassName#2`) for checkpoint state."""
        keys: dict[str, object] = {}
        for callback in self.callbacks:
            base = type(callback).__name__
            key, n = base, 1
            while key in keys:
                n += 1
                key = f"{base}#{n}"
            keys[key] = callback
        return keys
