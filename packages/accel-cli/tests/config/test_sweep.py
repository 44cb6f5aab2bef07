"""Multirun expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.cli.config.compose import compose_many
from accel.cli.config.load import check_jobs
from accel.cli.config.sweep import count_jobs, expand_sweep, parse_sweep
from accel.core.errors import ConfigError
from accel.core.testing import hang_guard


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


@pytest.mark.parametrize(
    ("overrides", "jobs"),
    [
        (["seed=1,2,3"], 3),
        (["seed=range(0,10)", "optimizer.lr=0.1,0.2"], 20),
        (["seed=range(0,10,3)"], 4),
        (["optimizer.lr=range(0.1,0.5,0.1)"], 4),
        (["seed=range(10,0,-2)"], 5),
        (["seed=choice(1,2)", "model=a,b,c"], 6),
        (["seed=1"], 1),
    ],
)
def test_jobs_are_counted_without_expanding(overrides: list[str], jobs: int) -> None:
    assert count_jobs(parse_sweep(overrides), overrides) == jobs
    assert len(expand_sweep(overrides)) == jobs


def test_a_big_sweep_needs_yes_and_is_refused_at_once() -> None:
    """Counted, not listed and checked job by job (which would take hours: a hang)."""
    with (
        hang_guard(60),
        pytest.raises(ConfigError, match=r"100000 jobs \(more than 1000\); pass --yes"),
    ):
        expand_sweep(["seed=range(0,100000)"])
    assert len(expand_sweep(["seed=range(0,1001)"], yes=True)) == 1001
    with pytest.raises(ConfigError, match=r"more than 100000; split it"):
        expand_sweep(["seed=range(0,100001)"], yes=True)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=range(0,1,0)", "the range step must not be 0"),
        ("optimizer.lr=range(0,1,0.0)", "the range step must not be 0"),
        ("seed=range(3,3)", "makes no jobs"),
        ("seed=range(0,5,-1)", "makes no jobs"),
    ],
)
def test_ranges_that_make_no_jobs(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        expand_sweep([override])


def test_checkpoint_paths_in_a_sweep_are_quoted() -> None:
    jobs = expand_sweep(["ckpt=runs/a/epoch=001-step=1,runs/b/epoch=002-step=2"])
    assert len(jobs) == 2
    parsed = [parse_sweep(job)[0].value() for job in jobs]
    assert parsed == ["runs/a/epoch=001-step=1", "runs/b/epoch=002-step=2"]


def test_validating_a_sweep_composes_each_choice_once(tiny_project: Path) -> None:
    """200 jobs that differ in values only share one composition of their group choices
    (composing each job took 0.25 s, about a minute for 200; benchmarks/config_sweep.py
    measures it), and a job that names a group choice gets its own."""
    jobs = expand_sweep(["seed=range(0,200)", "optimizer.lr=0.1"])
    assert len({id(c.base) for c in compose_many(jobs)}) == 1
    assert len({id(c.base) for c in compose_many([*jobs[:2], ["model=tiny"]])}) == 2
    checked = check_jobs(jobs)
    assert [c["seed"] for c in checked] == list(range(200))
    assert {c["optimizer"]["lr"] for c in checked} == {0.1}
    assert len({c["trainer"]["run_dir"] for c in checked}) <= 2  # one ${now:} per second


def test_a_bad_job_in_a_sweep_names_its_value(tiny_project: Path) -> None:
    with pytest.raises(ConfigError, match=r"seed=-1: expected an int in \[0, 4294967295\]"):
        check_jobs(expand_sweep(["seed=0,1,-1"]))


def test_jobs_are_in_hydra_basic_sweepers_order() -> None:
    """The product Hydra's basic sweeper makes (the last key varies fastest; values written
    back in Hydra's grammar; a key given twice keeps its first place and its last value)."""
    jobs = expand_sweep(["a=1,2", "b=x,y", "seed=range(0,2)", "model=resnet20,resnet56", "c=3"])
    assert jobs[:3] == [
        ["a=1", "b=x", "seed=0", "model=resnet20", "c=3"],
        ["a=1", "b=x", "seed=0", "model=resnet56", "c=3"],
        ["a=1", "b=x", "seed=1", "model=resnet20", "c=3"],
    ]
    assert len(jobs) == 16
    assert jobs[-1] == ["a=2", "b=y", "seed=1", "model=resnet56", "c=3"]
    assert expand_sweep(["a=1,2", "b=x,y"]) == [
        ["a=1", "b=x"],
        ["a=1", "b=y"],
        ["a=2", "b=x"],
        ["a=2", "b=y"],
    ]
    assert expand_sweep(["a=1", "b=x", "a=2,3", "~callbacks.progress"]) == [
        ["a=2", "b=x", "~callbacks.progress=null"],
        ["a=3", "b=x", "~callbacks.progress=null"],
    ]
    assert expand_sweep(["+g={k: 1}", "++h=[1, 2]", "lr=range(0.1,0.3,0.1)"]) == [
        ["+g={k:1}", "++h=[1,2]", "lr=0.1"],
        ["+g={k:1}", "++h=[1,2]", "lr=0.2"],
    ]


def test_a_sweep_that_cannot_be_listed_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"sweep 'seed=interval\(0,1\)'.*does not support"):
        expand_sweep(["seed=interval(0,1)"])
