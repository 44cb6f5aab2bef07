"""Expand `-m/--multirun` overrides (`optimizer.lr=0.1,0.01 model=a,b`) into one list per job."""

from __future__ import annotations

from accel.core.errors import ConfigError


def expand_sweep(overrides: list[str]) -> list[list[str]]:
    """The cartesian product of every sweep override, in Hydra's grammar and order."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides=overrides)
        batches = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    except HydraException as error:
        message = " ".join(str(error).split())
        raise ConfigError(f"sweep {' '.join(overrides)!r}: {message}") from None
    return [list(job) for job in batches[0]]
