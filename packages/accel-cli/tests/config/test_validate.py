"""Validation of a resolved config."""

from __future__ import annotations

from typing import Any

import pytest

from accel.cli.config.validate import (
    check_callbacks,
    check_component,
    check_metrics,
    check_top_level,
    check_types,
)
from accel.core.errors import ConfigError


def test_unknown_top_level_key_suggests_closest() -> None:
    with pytest.raises(ConfigError, match=r"optimiser: unknown top-level key.*'optimizer'"):
        check_top_level({"optimiser": {}})


def test_component_needs_name_or_target() -> None:
    with pytest.raises(ConfigError, match=r"optimizer: needs 'name' \(one of: .*sgd"):
        check_component("optimizer", {"lr": 0.1})


def test_component_rejects_both_name_and_target() -> None:
    with pytest.raises(ConfigError, match=r"received both name and _target_\. Choose one\."):
        check_component("optimizer", {"name": "sgd", "_target_": "x.Y"})


def test_component_unknown_name_suggests() -> None:
    with pytest.raises(ConfigError, match=r"accel.optimizers has no 'sgdd'.*Did you mean 'sgd'"):
        check_component("optimizer", {"name": "sgdd"})


def test_component_must_be_mapping() -> None:
    with pytest.raises(ConfigError, match="optimizer: expected a mapping"):
        check_component("optimizer", "sgd")


def test_nullable_groups_accept_null() -> None:
    check_component("scheduler", None)
    check_component("tracker", None)
    with pytest.raises(ConfigError, match="model: expected a mapping"):
        check_component("model", None)


def test_callbacks_must_be_specs() -> None:
    with pytest.raises(ConfigError, match=r"callbacks.bar: expected \{name: ...\}"):
        check_callbacks({"bar": 3})
    with pytest.raises(ConfigError, match="callbacks: expected a mapping"):
        check_callbacks([1])
    check_callbacks({"off": None})


def test_metrics_must_be_a_list() -> None:
    with pytest.raises(ConfigError, match="metrics: expected a list"):
        check_metrics("accuracy")
    with pytest.raises(ConfigError, match=r"metrics\[0\]: expected a name"):
        check_metrics([3])


@pytest.mark.parametrize(
    ("value", "ok"),
    [(1, True), (1.5, False), ("3", False), (True, False), (None, True)],
)
def test_types_follow_the_defaults_int(value: Any, ok: bool) -> None:
    defaults = {"trainer": {"max_epochs": 10}}
    config = {"trainer": {"max_epochs": value}}
    if ok:
        check_types(config, defaults)
    else:
        with pytest.raises(ConfigError, match=r"trainer\.max_epochs: expected int"):
            check_types(config, defaults)


def test_float_accepts_int_but_not_bool() -> None:
    check_types({"o": {"lr": 1}}, {"o": {"lr": 0.1}})
    with pytest.raises(ConfigError, match=r"o\.lr: expected float, got bool"):
        check_types({"o": {"lr": True}}, {"o": {"lr": 0.1}})


def test_other_component_arguments_are_not_compared() -> None:
    check_types(
        {"optimizer": {"name": "adam", "lr": "x"}}, {"optimizer": {"name": "sgd", "lr": 0.1}}
    )
