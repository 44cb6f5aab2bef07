"""What the runtime asks of an engine that runs several processes, with one-process defaults.

An engine may offer `world_size`, `rank`, `is_main_process`, `prepare_loader(loader, train)`,
`reduce(tensor, op)`, `gather_object(obj)`, `barrier()`, `full_state(model, optimizer)` and
`load_full_state(model, optimizer, weights, optimizer_state)` (sharded models); an engine
without them (the torch engine, a user's engine) is one process and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from accel.core.errors import ConfigError


def world_size(engine: Any) -> int:
    return int(getattr(engine, "world_size", 1))


def is_main_process(engine: Any) -> bool:
    return bool(getattr(engine, "is_main_process", True))


def prepare_loader(engine: Any, loader: Any, train: bool) -> Any:
    """This process's view of `loader` (the loader itself with one process)."""
    if loader is None or world_size(engine) == 1:
        return loader
    return engine.prepare_loader(loader, train)


def reduce(engine: Any, tensor: Tensor, op: str = "sum") -> Tensor:
    """`tensor` summed or averaged over the processes."""
    return tensor if world_size(engine) == 1 else engine.reduce(tensor, op)


def gather_object(engine: Any, obj: Any) -> list[Any]:
    return [obj] if world_size(engine) == 1 else list(engine.gather_object(obj))


def barrier(engine: Any) -> None:
    if world_size(engine) > 1:
        engine.barrier()


def full_state(engine: Any, model: Any, optimizer: Any) -> tuple[Any, Any]:
    """The model's full weights and the optimizer's state (an FSDP engine gathers shards)."""
    if hasattr(engine, "full_state"):
        weights, state = engine.full_state(model, optimizer)
        return weights, state
    return model.state_dict(), optimizer.state_dict()


def load_full_state(engine: Any, model: Any, optimizer: Any, weights: Any, opt: Any) -> bool:
    """True if the engine loaded weights and optimizer state itself (sharded models)."""
    load = getattr(engine, "load_full_state", None)
    return bool(load(model, optimizer, weights, opt)) if load is not None else False


def rank_callbacks(callbacks: Iterable[Any], engine: Any) -> list[Any]:
    """Every callback on the main process; elsewhere those not marked `main_process_only`
    (progress bar, metric files, tracker: they write, so one process does it)."""
    if is_main_process(engine):
        return list(callbacks)
    return [c for c in callbacks if not getattr(c, "main_process_only", False)]


def check_devices(devices: Any, engine: Any) -> None:
    """`trainer.devices` must match the processes that were actually started."""
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ConfigError(f"trainer.devices must be an int >= 1, got {devices!r}")
    started = world_size(engine)
    if devices > 1 and started == 1:
        raise ConfigError(
            f"trainer.devices={devices} but this is one process: start the processes with "
            "`accel train` (trainer.engine=accelerate), `accelerate launch` or `torchrun`"
        )
    if devices > 1 and started != devices:
        raise ConfigError(
            f"trainer.devices={devices} but {started} processes were started; make them agree"
        )


def end_process_group() -> None:
    """After a successful run of several processes: wait for all, then close the process group.

    Call it once at the end of a script started by torchrun / accelerate launch (the `accel`
    command does). Leaving gloo's group to interpreter shutdown can abort a process that
    exits after its peers ("terminate called without an active exception").
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
