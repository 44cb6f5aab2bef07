"""Stochastic weight averaging (SWA): from a start epoch on, average the weights at each
epoch's end under an SWA learning rate, and recompute BatchNorm statistics for the average.

Registered as `accel.callbacks: swa` (config: `callbacks=swa`). Built on
`torch.optim.swa_utils`: `AveragedModel` (equal average), `SWALR` (the learning rate anneals
to `swa_lr`, taking over from the fit's scheduler) and `update_bn` (one pass over the training
data, the random number generators left untouched, so a resumed run stays exact).
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn
from torch.optim.swa_utils import SWALR, AveragedModel, update_bn

from accel.core.callbacks.averaging import AveragingCallback, check_bool, check_int
from accel.core.data import split_batch
from accel.core.errors import ConfigError
from accel.core.seeding import capture_rng, restore_rng

STRATEGIES = ("cos", "linear")


class SWA(AveragingCallback):
    """Average from epoch `swa_start` (an int, 0-based, or a fraction of max_epochs).

    The average is updated after each SWA epoch's last optimizer step (before validation, so
    `val_swa/...` is the current average) and its BatchNorm statistics recomputed then
    (`update_bn: false` skips that). The learning rate anneals to `swa_lr` over
    `anneal_epochs` epochs (`anneal_strategy`: cos or linear).
    """

    weights_name = "swa"

    def __init__(
        self,
        *,
        swa_lr: float,
        swa_start: int | float = 0.75,
        anneal_epochs: int = 1,
        anneal_strategy: str = "cos",
        update_bn: bool = True,
        validate: bool = True,
    ) -> None:
        super().__init__(validate=validate)
        if isinstance(swa_lr, bool) or not isinstance(swa_lr, int | float) or not swa_lr > 0:
            raise ConfigError(f"swa.swa_lr must be a number > 0, got {swa_lr!r}")
        check_start(swa_start)
        check_int("swa", "anneal_epochs", anneal_epochs, 0)
        if anneal_strategy not in STRATEGIES:
            raise ConfigError(
                f"swa.anneal_strategy={anneal_strategy!r} is not valid; use one of cos, linear"
            )
        check_bool("swa", "update_bn", update_bn)
        self.swa_lr, self.swa_start = float(swa_lr), swa_start
        self.anneal_epochs, self.anneal_strategy = anneal_epochs, anneal_strategy
        self.update_bn = update_bn
        self.scheduler: SWALR | None = None

    def make_averaged(self, model: nn.Module) -> AveragedModel:
        return AveragedModel(model)  # equal average of parameters; BN recomputed by update_bn

    def start_epoch(self, max_epochs: int) -> int:
        """The first SWA epoch (0-based) for a fit of `max_epochs`."""
        if isinstance(self.swa_start, float):
            return min(math.floor(self.swa_start * max_epochs), max_epochs - 1)
        return int(self.swa_start)

    # ---- events -----------------------------------------------------------------------------
    def on_fit_start(self, state: Any) -> None:
        start = self.start_epoch(state.max_epochs)
        if start >= state.max_epochs:
            raise ConfigError(
                f"swa.swa_start={self.swa_start!r} is at or after the last epoch "
                f"(trainer.max_epochs={state.max_epochs}): no epoch would be averaged"
            )
        pending = self._pending if state.resumed_from is not None else None
        self.scheduler = None
        self.start_averaging(state)
        if pending and pending.get("scheduler") is not None:
            self.begin(state, dict(pending["scheduler"]))

    def on_epoch_start(self, state: Any) -> None:
        if self.scheduler is None and state.epoch >= self.start_epoch(state.max_epochs):
            self.begin(state, None)

    def on_optimizer_step(self, state: Any) -> None:
        if self.scheduler is None or self.averaged is None or state.batch_idx < state.num_batches:
            return  # not an SWA epoch, or not its last step
        self.averaged.update_parameters(state.model)
        if self.update_bn:
            recompute_bn(self.averaged.module, state)

    def on_epoch_end(self, state: Any) -> None:
        if self.scheduler is not None:
            self.scheduler.step()

    # ---- the SWA learning rate --------------------------------------------------------------
    def begin(self, state: Any, saved: dict[str, Any] | None) -> None:
        """Take the learning rate over from the fit's scheduler (again, after a resume)."""
        state.trainer.release_scheduler()
        lrs = [group["lr"] for group in state.optimizer.param_groups]
        self.scheduler = SWALR(
            state.optimizer,
            swa_lr=self.swa_lr,
            anneal_epochs=self.anneal_epochs,
            anneal_strategy=self.anneal_strategy,  # type: ignore[arg-type]
        )
        if saved is not None:  # the optimizer's restored learning rates stay exactly as saved
            self.scheduler.load_state_dict({**self.scheduler.state_dict(), **saved})
            for group, lr in zip(state.optimizer.param_groups, lrs, strict=True):
                group["lr"] = lr

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.averaged is not None:
            state["scheduler"] = plain_scheduler_state(self.scheduler)
        return state


def recompute_bn(model: nn.Module, state: Any) -> None:
    """BatchNorm statistics of `model` from one pass over the fit's training data."""
    loader, engine = state.train_loader, state.trainer.engine
    if loader is None:
        return
    rng = capture_rng()
    try:
        update_bn((split_batch(engine.to_device(batch))[0] for batch in loader), model)
    finally:
        restore_rng(rng)


def plain_scheduler_state(scheduler: SWALR | None) -> dict[str, Any] | None:
    """SWALR's state without what cannot be stored as JSON (older torch keeps a function)."""
    if scheduler is None:
        return None
    plain = (int, float, str, bool, list, type(None))
    return {k: v for k, v in scheduler.state_dict().items() if isinstance(v, plain)}


def check_start(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"swa.swa_start must be an epoch (int >= 0) or a fraction, got {value!r}")
    if isinstance(value, int) and value < 0:
        raise ConfigError(f"swa.swa_start must be an int >= 0, got {value}")
    if isinstance(value, float) and not 0.0 <= value < 1.0:
        raise ConfigError(
            f"swa.swa_start as a fraction of max_epochs must be in [0, 1), got {value}"
        )
