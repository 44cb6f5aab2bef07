"""Valid ranges of torch's optimizer and scheduler arguments, checked before they are built.

torch checks some (a negative learning rate) and not others: `SGD(momentum=2)` trains and
diverges, `CosineAnnealingLR(T_max=0)` divides by zero at the end of the first epoch and
`T_max=-1` runs backwards. One table, by argument name, says what is valid; a value outside it
is a ConfigError naming the key, the value and the range, before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from accel.core.errors import ConfigError

CHECKED_MODULES = ("torch.optim",)  # torch.optim and torch.optim.lr_scheduler


@dataclass(frozen=True)
class Range:
    """`low <= x <= high` (or strict, with `*_open`), optionally an integer."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def holds(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def text(self) -> str:
        kind = "an int" if self.integer else "a finite number"
        if math.isinf(self.high):
            return f"{kind} {'>' if self.low_open else '>='} {_num(self.low)}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{kind} in {left}{_num(self.low)}, {_num(self.high)}{right}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


NON_NEGATIVE = Range(0.0)
POSITIVE = Range(0.0, low_open=True)
FRACTION = Range(0.0, 1.0)
BELOW_ONE = Range(0.0, 1.0, high_open=True)
COUNT = Range(1, integer=True)
NON_NEGATIVE_INT = Range(0, integer=True)

RANGES: dict[str, Range] = {
    # optimizers
    "lr": NON_NEGATIVE,
    "momentum": FRACTION,
    "dampening": FRACTION,
    "weight_decay": NON_NEGATIVE,
    "eps": NON_NEGATIVE,
    "alpha": FRACTION,
    "lr_decay": NON_NEGATIVE,
    "initial_accumulator_value": NON_NEGATIVE,
    "momentum_decay": NON_NEGATIVE,
    "max_iter": COUNT,
    "history_size": COUNT,
    # schedulers
    "T_max": COUNT,
    "T_0": COUNT,
    "T_mult": COUNT,
    "eta_min": NON_NEGATIVE,
    "step_size": COUNT,
    "gamma": POSITIVE,
    "total_iters": NON_NEGATIVE_INT,
    "start_factor": Range(0.0, 1.0, low_open=True),
    "end_factor": FRACTION,
    "patience": NON_NEGATIVE_INT,
    "cooldown": NON_NEGATIVE_INT,
    "threshold": NON_NEGATIVE,
    "min_lr": NON_NEGATIVE,
    "max_lr": POSITIVE,
    "total_steps": COUNT,
    "epochs": COUNT,
    "steps_per_epoch": COUNT,
    "pct_start": Range(0.0, 1.0, low_open=True, high_open=True),
    "div_factor": POSITIVE,
    "final_div_factor": POSITIVE,
    "power": NON_NEGATIVE,
}
# per-argument exceptions: ReduceLROnPlateau's factor must be below 1, ConstantLR's in (0, 1]
FACTORS: dict[str, Range] = {
    "ReduceLROnPlateau": BELOW_ONE,
    "ConstantLR": Range(0.0, 1.0, low_open=True),
}


MAX_SEED = 2**32 - 1  # numpy's seeds; python's and torch's accept these too


def check_seed(seed: Any, key: str = "seed") -> None:
    """A seed is null or an int in [0, 2**32 - 1] (what every generator accepts)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{key}={seed!r}: expected an int in [0, {MAX_SEED}] or null")


def check_ranges(factory: Callable[..., Any], kwargs: Mapping[str, Any], section: str) -> None:
    """Raise ConfigError for the first argument of a torch optimizer/scheduler out of range."""
    module = str(getattr(factory, "__module__", "") or "")
    check_ranges_of(f"{module}:{getattr(factory, '__name__', '')}", kwargs, section)


def check_ranges_of(target: str, kwargs: Mapping[str, Any], section: str) -> None:
    """`check_ranges` for a factory named by `module:Name` (an entry point's target), without
    importing it (so a command line can be checked before torch is imported)."""
    module, _, name = target.replace(":", ".").rpartition(".")
    if not module.startswith(CHECKED_MODULES):
        return
    for key, value in kwargs.items():
        expected = FACTORS.get(name) if key == "factor" else RANGES.get(key)
        if expected is not None and not expected.holds(value):
            raise ConfigError(f"{section}.{key}={value!r}: expected {expected.text()}")
    if "betas" in kwargs:
        _check_betas(kwargs["betas"], section)
    if "milestones" in kwargs:
        _check_milestones(kwargs["milestones"], section)


def _check_betas(betas: Any, section: str) -> None:
    if (
        not isinstance(betas, list | tuple)
        or len(betas) != 2
        or not all(BELOW_ONE.holds(b) for b in betas)
    ):
        raise ConfigError(
            f"{section}.betas={betas!r}: expected two numbers in [0, 1), like [0.9, 0.999]"
        )


def _check_milestones(milestones: Any, section: str) -> None:
    valid = (
        isinstance(milestones, list | tuple)
        and len(milestones) > 0
        and all(NON_NEGATIVE_INT.holds(m) for m in milestones)
        and list(milestones) == sorted(set(milestones))
    )
    if not valid:
        raise ConfigError(
            f"{section}.milestones={milestones!r}: expected increasing ints >= 0, like [30, 60]"
        )
