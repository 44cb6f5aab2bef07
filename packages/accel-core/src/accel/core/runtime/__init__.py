"""The training runtime: Trainer (library use) and run_from_config (config use)."""

from accel.core.runtime.config import run_from_config, trainer_from_context
from accel.core.runtime.context import Context, build_context
from accel.core.runtime.loops import NonFiniteLossError
from accel.core.runtime.state import RunState
from accel.core.runtime.trainer import Trainer
from accel.core.seeding import seed_everything

__all__ = [
    "Context",
    "NonFiniteLossError",
    "RunState",
    "Trainer",
    "build_context",
    "run_from_config",
    "seed_everything",
    "trainer_from_context",
]
