"""The trainer's option groups: small frozen dataclasses that check their own types.

They double as structured configs: `LoopOptions(**cfg["trainer"]-subset)` rejects a wrong type
with one line naming the key, the value and what is valid.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from accel.core.errors import ConfigError

PRECISIONS = ("32", "bf16", "16")
DEVICES = ("auto", "cpu", "cuda", "mps")


def _int(owner: str, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(
            f"{owner}.{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})"
        )


def _optional_int(owner: str, name: str, value: Any, minimum: int) -> None:
    if value is not None:
        _int(owner, name, value, minimum)


def _bool(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(
            f"{owner}.{name} must be true or false, got {value!r} ({type(value).__name__})"
        )


def _choice(owner: str, name: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigError(f"{owner}.{name}={value!r} is not valid; use one of {', '.join(valid)}")


@dataclass(frozen=True, kw_only=True)
class LoopOptions:
    """How long to train, how often to validate and log, and where the run lives."""

    max_epochs: int = 1
    max_steps: int | None = None
    run_dir: str | os.PathLike[str] | None = None
    seed: int | None = None
    deterministic: bool = False
    log_every_n_steps: int = 50
    val_every_n_epochs: int = 1

    def __post_init__(self) -> None:
        _int("trainer", "max_epochs", self.max_epochs, 1)
        _optional_int("trainer", "max_steps", self.max_steps, 1)
        _optional_int("trainer", "seed", self.seed, 0)
        _bool("trainer", "deterministic", self.deterministic)
        _int("trainer", "log_every_n_steps", self.log_every_n_steps, 1)
        _int("trainer", "val_every_n_epochs", self.val_every_n_epochs, 1)
        if self.run_dir is not None and not isinstance(self.run_dir, str):
            object.__setattr__(self, "run_dir", _path_str(self.run_dir))


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """What the engine does numerically: device, precision, accumulation, clipping, compile."""

    device: str = "auto"
    precision: str = "32"
    accumulate_grad_batches: int = 1
    clip_grad_norm: float | None = None
    compile: bool = False
    channels_last: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.device, str) or self.device.split(":")[0] not in DEVICES:
            raise ConfigError(
                f"trainer.device={self.device!r} is not valid; use one of {', '.join(DEVICES)} "
                "(optionally with an index, e.g. cuda:1)"
            )
        object.__setattr__(self, "precision", str(self.precision))
        _choice("trainer", "precision", self.precision, PRECISIONS)
        _int("trainer", "accumulate_grad_batches", self.accumulate_grad_batches, 1)
        clip = self.clip_grad_norm
        if clip is not None and (isinstance(clip, bool) or not isinstance(clip, int | float)):
            raise ConfigError(
                f"trainer.clip_grad_norm must be a number > 0 or null, got {clip!r} "
                f"({type(clip).__name__})"
            )
        if clip is not None and not (math.isfinite(clip) and clip > 0):
            raise ConfigError(
                f"trainer.clip_grad_norm must be a finite number > 0 or null, got {clip!r}"
            )
        _bool("trainer", "compile", self.compile)
        _bool("trainer", "channels_last", self.channels_last)


def _path_str(value: Any) -> str:
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    raise ConfigError(
        f"trainer.run_dir must be a path string, got {value!r} ({type(value).__name__})"
    )
