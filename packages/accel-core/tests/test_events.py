"""Events and priorities: a closed set, unknown names rejected with the valid list."""

from __future__ import annotations

import pytest

from accel.core.errors import ConfigError
from accel.core.events import EVENTS, PRIORITIES, check_event, resolve_priority


def test_issue_events_are_all_present() -> None:
    required = {
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
        "checkpoint_save",
        "checkpoint_load",
        "exception",
    }
    assert required <= set(EVENTS)


def test_unknown_event_lists_valid_events_and_suggests() -> None:
    with pytest.raises(
        ConfigError,
        match=r"unknown event 'epoch_ned'; valid events: fit_start, .*Did you mean 'epoch_end'",
    ):
        check_event("epoch_ned")


def test_named_and_integer_priorities() -> None:
    assert resolve_priority("highest") < resolve_priority("normal") < resolve_priority("lowest")
    assert resolve_priority(7) == 7
    assert PRIORITIES["normal"] == 50


@pytest.mark.parametrize("bad", ["urgent", True, 1.5])
def test_unknown_priority_lists_valid_names(bad: object) -> None:
    with pytest.raises(
        ConfigError,
        match=r"callback priority .*(use an int or one of: highest \(0\), high \(25\), "
        r"normal \(50\), low \(75\), lowest \(100\)|must be an int)",
    ):
        resolve_priority(bad)  # type: ignore[arg-type]
