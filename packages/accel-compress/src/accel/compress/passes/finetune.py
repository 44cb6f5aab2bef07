"""`finetune`: a short supervised fine-tune (e.g. after pruning) on the context's training data.

The optimizer and the loss are registry specs, as in a training config (`{name: sgd, lr: 0.01,
momentum: 0.9}`, `cross_entropy`), built through accel-core's registry; the fit is accel-core's
Trainer, the one `accel train` and the pipeline's fine-tune step use.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping
from typing import Any

from torch import nn

from accel.core.errors import ConfigError
from accel.core.passes import PassContext

Spec = str | Mapping[str, Any]
DEFAULT_OPTIMIZER: Spec = {"name": "adam", "lr": 1e-3}
DEFAULT_LOSS: Spec = "cross_entropy"


def finetune(
    model: nn.Module,
    data: Any,
    *,
    epochs: int = 2,
    optimizer: Spec = DEFAULT_OPTIMIZER,
    loss: Spec = DEFAULT_LOSS,
    max_batches: int | None = None,
) -> nn.Module:
    """Train `model` in place over `(inputs, targets)` batches with the `optimizer` and `loss`
    the specs name (no callbacks, no checkpoints: a scratch run directory)."""
    from accel.core.registry import build
    from accel.core.runtime import Trainer

    built_optimizer = build(
        "optimizers", optimizer, config_key="finetune.optimizer", params=model.parameters()
    )
    built_loss = build("losses", loss, config_key="finetune.loss")
    with (
        tempfile.TemporaryDirectory(prefix="accel-finetune-") as run_dir,
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", message=".*no standard sampler.*")
        trainer = Trainer(
            max_epochs=epochs,
            max_steps=None if max_batches is None else max_batches * epochs,
            run_dir=run_dir,
            seed=0,
            default_callbacks=False,
            device=device_of(model),
        )
        trainer.fit(model, data, optimizer=built_optimizer, loss=built_loss)
    return model.eval()


def device_of(model: nn.Module) -> str:
    parameter = next(model.parameters(), None)
    return "cpu" if parameter is None else parameter.device.type


class Finetune:
    """Recover accuracy lost to pruning: `epochs` of training on `context.train_data`.

    `optimizer` and `loss` are registry specs (default Adam at `lr` 1e-3, cross-entropy);
    `lr` is a shortcut that sets the optimizer's learning rate.
    """

    timed = False  # changes format or weights, not speed: never dropped as slower

    def __init__(
        self,
        epochs: int = 2,
        *,
        optimizer: Spec = DEFAULT_OPTIMIZER,
        loss: Spec = DEFAULT_LOSS,
        lr: float | None = None,
        max_batches: int | None = None,
    ) -> None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ConfigError(f"finetune: epochs must be an int >= 0, got {epochs!r}")
        if lr is not None:
            base = {"name": optimizer} if isinstance(optimizer, str) else dict(optimizer)
            optimizer = {**base, "lr": lr}
        self.epochs, self.optimizer, self.loss = epochs, optimizer, loss
        self.max_batches = max_batches

    def __call__(self, model: Any, context: PassContext) -> Any:
        if not isinstance(model, nn.Module):
            raise ConfigError(f"finetune works on a torch model, got {type(model).__name__}")
        if context.train_data is None:
            report = context.record("finetune", "skipped")
            report.notes.append("no training data: pass --train-data to fine-tune after pruning")
            return model
        finetune(
            model,
            context.train_data,
            epochs=self.epochs,
            optimizer=self.optimizer,
            loss=self.loss,
            max_batches=self.max_batches,
        )
        context.record("finetune", epochs=self.epochs, optimizer=self.optimizer, loss=self.loss)
        return model
