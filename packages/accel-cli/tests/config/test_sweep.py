"""Multirun expansion."""

from __future__ import annotations

import pytest

from accel.cli.config.sweep import expand_sweep
from accel.core.errors import ConfigError


def test_cartesian_product_in_order() -> None:
    jobs = expand_sweep(["optimizer.lr=0.1,0.01", "seed=1,2", "trainer.max_epochs=3"])
    assert jobs == [
        ["optimizer.lr=0.1", "seed=1", "trainer.max_epochs=3"],
        ["optimizer.lr=0.1", "seed=2", "trainer.max_epochs=3"],
        ["optimizer.lr=0.01", "seed=1", "trainer.max_epochs=3"],
        ["optimizer.lr=0.01", "seed=2", "trainer.max_epochs=3"],
    ]


def test_no_sweep_is_one_job() -> None:
    assert expand_sweep(["a=1"]) == [["a=1"]]
    assert expand_sweep([]) == [[]]


def test_range_sweep() -> None:
    assert expand_sweep(["seed=range(0,3)"]) == [["seed=0"], ["seed=1"], ["seed=2"]]


def test_bad_sweep_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"sweep 'a=1,,2'"):
        expand_sweep(["a=1,,2"])
