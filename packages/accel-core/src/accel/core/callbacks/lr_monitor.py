"""Add the learning rate of each parameter group to the logged metrics."""

from __future__ import annotations

from typing import Any

from accel.core.callbacks.base import Callback


class LRMonitor(Callback):
    """`lr` (one group) or `lr/group<i>` on logging steps and at each epoch end."""

    priority = "high"

    def _rates(self, state: Any) -> dict[str, float]:
        groups = getattr(state.optimizer, "param_groups", [])
        if len(groups) == 1:
            return {"lr": float(groups[0]["lr"])}
        return {f"lr/group{i}": float(g["lr"]) for i, g in enumerate(groups)}

    def on_batch_end(self, state: Any) -> None:
        if state.logged is not None:
            state.logged.update(self._rates(state))

    def on_epoch_end(self, state: Any) -> None:
        state.metrics.update(self._rates(state))
