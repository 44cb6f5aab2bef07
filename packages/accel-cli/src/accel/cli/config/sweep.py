"""Expand `-m/--multirun` overrides (`optimizer.lr=0.1,0.01 model=a,b`) into one list per job.

The jobs are counted from the parsed overrides first (a range is not listed to count it), so a
sweep of 100,000 jobs or an empty range is one line at once, not minutes of silence.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from typing import Any

from accel.cli.config.overrides import prepare_overrides
from accel.core.errors import ConfigError

CONFIRM_ABOVE = 1000  # a bigger sweep runs only with --yes
MAX_JOBS = 100_000  # never, even with --yes: split the sweep


def expand_sweep(overrides: list[str], *, yes: bool = False) -> list[list[str]]:
    """The cartesian product of every sweep override, in Hydra's grammar and order."""
    from hydra.errors import HydraException

    parsed = parse_sweep(overrides)
    check_job_count(count_jobs(parsed, overrides), overrides, yes=yes)
    try:
        lines = key_lines(parsed)
    except HydraException as error:
        raise sweep_error(overrides, error) from None
    return [list(job) for job in itertools.product(*lines)]


def key_lines(parsed: list[Any]) -> list[list[str]]:
    """Each key's `key=value` lines, one per value, keyed as Hydra's basic sweeper keys them:
    a key given twice keeps its first place and its last value; the last key varies fastest
    in the product."""
    lines: dict[str, list[str]] = {}
    for override in parsed:
        key = override.get_key_element()
        lines[key] = [f"{key}={value}" for value in value_strings(override)]
    return list(lines.values())


def value_strings(override: Any) -> list[str]:
    """An override's values as Hydra writes them back: each value of a choice or range
    sweep, else its one value; other sweeps (`interval(...)`) cannot be listed."""
    from hydra.errors import HydraException

    if not override.is_sweep_override():
        return [override.get_value_element_as_str()]
    if not override.is_discrete_sweep():
        raise HydraException(
            f"BasicSweeper does not support sweep type : {override.value_type.name}"
        )
    return list(override.sweep_string_iterator())


def parse_sweep(overrides: list[str]) -> list[Any]:
    """Hydra's parsed overrides (path values quoted first); errors are one ConfigError."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    prepared = prepare_overrides(overrides, sweep=True)
    try:
        return list(OverridesParser.create().parse_overrides(overrides=prepared))
    except (HydraException, RecursionError) as error:
        raise sweep_error(overrides, error) from None


def count_jobs(parsed: list[Any], overrides: list[str]) -> int:
    """How many jobs the sweep makes: the product of each swept key's number of values."""
    total = 1
    for override in parsed:
        if override.is_sweep_override():
            total *= sweep_size(override, overrides)
    return total


def sweep_size(override: Any, overrides: list[str]) -> int:
    """Values of one sweep override: a choice list's length, or a range's, computed."""
    from hydra.core.override_parser.types import ChoiceSweep, RangeSweep

    value = override.value()  # a sweep's value is its ChoiceSweep / RangeSweep object
    if isinstance(value, ChoiceSweep):
        return len(value.list)
    if isinstance(value, RangeSweep):
        return range_size(value, override.input_line)
    return 1  # glob()/interval(): the sweeper itself says what it does not support


def range_size(sweep: Any, line: str) -> int:
    start, stop, step = sweep.start, sweep.stop, sweep.step
    if step == 0:
        raise ConfigError(f"sweep {line!r}: the range step must not be 0, e.g. range(0,10,2)")
    span = (Decimal(str(stop)) - Decimal(str(start))) / Decimal(str(step))
    return max(0, math.ceil(span))


def check_job_count(jobs: int, overrides: list[str], *, yes: bool) -> None:
    """No empty sweeps, nothing above MAX_JOBS, and above CONFIRM_ABOVE only with --yes."""
    shown = " ".join(overrides)
    if jobs == 0:
        raise ConfigError(f"sweep {shown!r}: makes no jobs (an empty range?)")
    if jobs > MAX_JOBS:
        raise ConfigError(
            f"sweep {shown!r}: {jobs} jobs is more than {MAX_JOBS}; split it into smaller sweeps"
        )
    if jobs > CONFIRM_ABOVE and not yes:
        raise ConfigError(
            f"sweep {shown!r}: {jobs} jobs (more than {CONFIRM_ABOVE}); pass --yes to run them "
            "all, or sweep fewer values"
        )


def sweep_error(overrides: list[str], error: BaseException) -> ConfigError:
    if isinstance(error, RecursionError):
        return ConfigError(f"sweep {' '.join(overrides)[:60]!r}: nested too deeply to parse")
    message = " ".join(str(error).split())
    return ConfigError(f"sweep {' '.join(overrides)!r}: {message}")
