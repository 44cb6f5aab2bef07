"""CallbackList: priority order, stable ties, per-event dispatch, rejected names."""

from __future__ import annotations

from typing import Any

import pytest

from accel.core.callbacks import Callback, CallbackList
from accel.core.errors import ConfigError


class Recorder(Callback):
    def __init__(self, name: str, log: list[str], priority: int | str = "normal") -> None:
        self.name, self.log, self.priority = name, log, priority

    def on_epoch_end(self, state: Any) -> None:
        self.log.append(self.name)


def test_lower_priority_runs_first_and_ties_keep_the_given_order() -> None:
    log: list[str] = []
    callbacks = CallbackList(
        [
            Recorder("a", log, "low"),
            Recorder("b", log),
            Recorder("c", log, 10),
            Recorder("d", log),
            Recorder("e", log, "highest"),
        ]
    )
    callbacks.fire("epoch_end", None)
    assert log == ["e", "c", "b", "d", "a"]


def test_only_callbacks_defining_an_event_are_called_for_it() -> None:
    log: list[str] = []
    callbacks = CallbackList([Recorder("a", log), Callback()])
    assert len(callbacks.handlers["epoch_end"]) == 1
    assert callbacks.handlers["batch_end"] == []


def test_method_named_after_no_event_is_rejected_with_the_valid_list() -> None:
    class Typo(Callback):
        def on_epoch_ned(self, state: Any) -> None: ...

    with pytest.raises(
        ConfigError,
        match=r"callback Typo defines on_epoch_ned: unknown event 'epoch_ned'; valid "
        r"events: .*Did you mean 'epoch_end'",
    ):
        CallbackList([Typo()])


def test_unknown_priority_name_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"unknown callback priority 'hgh'.*Did you mean 'high'"):
        CallbackList([Recorder("a", [], "hgh")])


def test_keyed_gives_stable_unique_keys_for_checkpoint_state() -> None:
    log: list[str] = []
    keyed = CallbackList([Recorder("a", log), Recorder("b", log)]).keyed()
    assert list(keyed) == ["Recorder", "Recorder#2"]
