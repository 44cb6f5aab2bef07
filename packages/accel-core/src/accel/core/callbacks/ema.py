"""An exponential moving average (EMA) of the weights, validated and checkpointed beside them.

Registered as `accel.callbacks: ema` (config: `callbacks=ema`). The average is
`torch.optim.swa_utils.AveragedModel` with `get_ema_multi_avg_fn`; parameters and buffers
(BatchNorm statistics) are both averaged. It observes only: the raw model trains exactly as
without it (evaluating the average leaves the random number generators untouched).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from accel.core.callbacks.averaging import AveragingCallback, check_int, check_number


class EMA(AveragingCallback):
    """Average the weights every `every_n_steps` optimizer steps with `decay`.

    `warmup_steps`: the decay ramps linearly from 0 to `decay` over the first updates, so the
    average forgets the random initial weights quickly. Metrics of the average are reported
    as `val_ema/...` and `test_ema/...`; checkpoints hold it as the `ema` weight set, which
    `accel test` and exports use unless `weights=raw` is asked for.
    """

    weights_name = "ema"

    def __init__(
        self,
        *,
        decay: float = 0.999,
        warmup_steps: int = 0,
        every_n_steps: int = 1,
        validate: bool = True,
    ) -> None:
        super().__init__(validate=validate)
        self.decay = check_number("ema", "decay", decay, 0.0, 1.0)
        check_int("ema", "warmup_steps", warmup_steps, 0)
        check_int("ema", "every_n_steps", every_n_steps, 1)
        self.warmup_steps, self.every_n_steps = warmup_steps, every_n_steps

    def current_decay(self) -> float:
        """The decay of the next update (ramped during warm-up)."""
        if self.averaged is None or self.warmup_steps == 0:
            return self.decay
        done = int(self.averaged.n_averaged)
        return self.decay * min(1.0, done / self.warmup_steps)

    def make_averaged(self, model: nn.Module) -> AveragedModel:
        return AveragedModel(model, multi_avg_fn=self._average, use_buffers=True)

    def _average(
        self,
        averaged: list[Tensor] | tuple[Tensor, ...],
        current: list[Tensor] | tuple[Tensor, ...],
        count: Tensor | int,
    ) -> None:
        get_ema_multi_avg_fn(self.current_decay())(averaged, current, count)

    def on_fit_start(self, state: Any) -> None:
        self.start_averaging(state)

    def on_optimizer_step(self, state: Any) -> None:
        if self.averaged is not None and state.global_step % self.every_n_steps == 0:
            self.averaged.update_parameters(state.model)
