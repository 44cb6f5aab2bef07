"""Turn what a user passes to `fit` (objects or registry specs) into checked components."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from accel.core.errors import ConfigError
from accel.core.protocols import check_protocol
from accel.core.registry import build

INTERVALS = ("epoch", "step")


@dataclass(frozen=True)
class SchedulerPlan:
    """A scheduler with when to step it and, for ReduceLROnPlateau, which metric to pass."""

    scheduler: Any
    interval: str = "epoch"
    monitor: str | None = None

    @property
    def on_plateau(self) -> bool:
        return isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)


def resolve_loss(loss: Any) -> Any:
    """A callable loss from an object, a registry name or a spec."""
    if isinstance(loss, str | Mapping):
        return build("losses", loss)
    if not callable(loss):
        raise ConfigError(
            f"loss must be callable (prediction, target) -> scalar tensor, or a registry name; "
            f"got {type(loss).__name__}"
        )
    return loss


def resolve_optimizer(optimizer: Any, model: torch.nn.Module) -> Any:
    """An optimizer object, or one built from a spec over the model's parameters."""
    if isinstance(optimizer, str | Mapping):
        return build("optimizers", optimizer, params=model.parameters())
    check_protocol("optimizers", type(optimizer).__name__, optimizer)
    return optimizer


def resolve_scheduler(scheduler: Any, optimizer: Any) -> SchedulerPlan | None:
    """None, a scheduler, `{scheduler: obj, interval, monitor}`, or a registry spec with those."""
    if scheduler is None or isinstance(scheduler, SchedulerPlan):
        return scheduler
    if isinstance(scheduler, str):
        scheduler = {"name": scheduler}
    if isinstance(scheduler, Mapping):
        options = dict(scheduler)
        interval = options.pop("interval", "epoch")
        monitor = options.pop("monitor", None)
        obj = options.pop("scheduler", None)
        if obj is None:
            obj = build("schedulers", options, config_key="scheduler", optimizer=optimizer)
        elif options:
            raise ConfigError(
                f"scheduler: unexpected keys {sorted(options)} beside 'scheduler'; "
                "valid: scheduler, interval, monitor"
            )
        if interval not in INTERVALS:
            raise ConfigError(
                f"scheduler.interval={interval!r} is not valid; use one of {', '.join(INTERVALS)}"
            )
        return SchedulerPlan(obj, interval, monitor)
    check_protocol("schedulers", type(scheduler).__name__, scheduler)
    return SchedulerPlan(scheduler)


def scalar_loss_error(loss: Any, loss_fn: Any) -> ConfigError:
    """The error for a loss that did not return a 0-dim tensor."""
    name = getattr(loss_fn, "__name__", type(loss_fn).__name__)
    got = (
        f"a tensor of shape {tuple(loss.shape)}"
        if isinstance(loss, torch.Tensor)
        else f"a {type(loss).__name__}"
    )
    return ConfigError(
        f"loss {name} returned {got}; a loss must return a scalar (0-dim) tensor: "
        "reduce it (reduction='mean' or .mean())"
    )
