"""What the weight-averaging callbacks (EMA, SWA) share: the averaged copy, its place in the
checkpoint, and its metrics reported beside the raw model's.

The averaged weights travel in the callback's checkpoint state as tensors (`weights`, a plain
state dict of the model, plus `n_averaged`), so a resume restores them bit for bit; the
manifest names them as a weight set (`ema`, `swa`) that testing and exporting use by default.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from accel.core.callbacks.base import Callback
from accel.core.errors import ConfigError


class AveragingCallback(Callback):
    """Base of EMA and SWA: holds `averaged` (an AveragedModel) once the fit has started."""

    weights_name = "averaged"  # the weight set's name in checkpoints and metric prefixes

    def __init__(self, *, validate: bool = True) -> None:
        check_bool(self.weights_name, "validate", validate)
        self.validate = validate
        self.averaged: AveragedModel | None = None
        self._pending: dict[str, Any] | None = None  # state loaded before the fit started

    # ---- the averaged copy ------------------------------------------------------------------
    def make_averaged(self, model: nn.Module) -> AveragedModel:
        """The averaged copy of `model` (subclasses choose the averaging rule)."""
        raise NotImplementedError

    def has_weights(self) -> bool:
        """True once something has been averaged (then checkpoints hold the weight set)."""
        return self.averaged is not None and int(self.averaged.n_averaged) > 0

    def start_averaging(self, state: Any) -> None:
        """Build the averaged copy at the start of a fit; a resumed fit gets its saved one."""
        if state.resumed_from is None:
            self._pending = None
        self.averaged = self.make_averaged(state.model)
        for param in self.averaged.parameters():
            param.requires_grad_(False)
        if self._pending is not None:
            self.load_averaged(self._pending)

    def load_averaged(self, saved: dict[str, Any]) -> None:
        """Put saved averaged weights and their count back (exactly: tensors, no arithmetic)."""
        assert self.averaged is not None
        weights, count = saved.get("weights"), saved.get("n_averaged")
        if weights is None or count is None:
            return
        try:
            self.averaged.module.load_state_dict(weights)
        except RuntimeError as error:
            raise ConfigError(
                f"{self.weights_name}: the checkpoint's averaged weights do not fit the model: "
                f"{str(error).splitlines()[0]}"
            ) from None
        self.averaged.n_averaged.copy_(torch.as_tensor(count))

    # ---- checkpoint state -------------------------------------------------------------------
    def averaged_state(self) -> dict[str, Any]:
        if not self.has_weights():
            return {}
        assert self.averaged is not None
        weights = self.averaged.module.state_dict()
        return {"weights": weights, "n_averaged": self.averaged.n_averaged}

    def state_dict(self) -> dict[str, Any]:
        if self.averaged is None:  # saved before the fit began: keep what was loaded
            return dict(self._pending or {})
        return self.averaged_state()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._pending = dict(state)
        if self.averaged is not None:
            self.load_averaged(self._pending)

    # ---- metrics beside the raw model's -----------------------------------------------------
    def report(self, state: Any, stage: str) -> None:
        """`<stage>_<name>/<metric>` of the averaged model, added to the stage's metrics."""
        evaluate = getattr(state, "evaluate_model", None)
        if not self.validate or evaluate is None or not self.has_weights():
            return
        assert self.averaged is not None
        state.metrics.update(evaluate(self.averaged.module, f"{stage}_{self.weights_name}"))

    def on_validation_end(self, state: Any) -> None:
        self.report(state, "val")

    def on_test_end(self, state: Any) -> None:
        self.report(state, "test")


def check_int(owner: str, key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{owner}.{key} must be an int >= {minimum}, got {value!r}")


def check_bool(owner: str, key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}.{key} must be true or false, got {value!r}")


def check_number(owner: str, key: str, value: Any, low: float, high: float) -> float:
    """`value` as a float in [low, high], else one line naming the key and the range."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{owner}.{key} must be a number in [{low}, {high}], got {value!r}")
    return float(value)
