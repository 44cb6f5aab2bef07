"""`finetune`: a short supervised fine-tune (e.g. after pruning) on the context's training data."""

from __future__ import annotations

import tempfile
import warnings
from typing import Any

import torch
from torch import nn

from accel.core.errors import ConfigError
from accel.core.passes import PassContext


def finetune(
    model: nn.Module,
    data: Any,
    *,
    epochs: int = 2,
    lr: float = 1e-3,
    max_batches: int | None = None,
) -> nn.Module:
    """Train `model` in place with Adam + cross-entropy over `(inputs, targets)` batches,
    using accel-core's Trainer (no callbacks, no checkpoints: a scratch run directory)."""
    from accel.core.runtime import Trainer

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
        trainer.fit(
            model,
            data,
            optimizer=torch.optim.Adam(model.parameters(), lr=lr),
            loss=nn.CrossEntropyLoss(),
        )
    return model.eval()


def device_of(model: nn.Module) -> str:
    parameter = next(model.parameters(), None)
    return "cpu" if parameter is None else parameter.device.type


class Finetune:
    """Recover accuracy lost to pruning: `epochs` of training on `context.train_data`."""

    timed = False  # changes format or weights, not speed: never dropped as slower

    def __init__(self, epochs: int = 2, lr: float = 1e-3, max_batches: int | None = None) -> None:
        self.epochs, self.lr, self.max_batches = epochs, lr, max_batches

    def __call__(self, model: Any, context: PassContext) -> Any:
        if not isinstance(model, nn.Module):
            raise ConfigError(f"finetune works on a torch model, got {type(model).__name__}")
        if context.train_data is None:
            report = context.record("finetune", "skipped")
            report.notes.append("no training data: pass --train-data to fine-tune after pruning")
            return model
        finetune(
            model, context.train_data, epochs=self.epochs, lr=self.lr, max_batches=self.max_batches
        )
        context.record("finetune", epochs=self.epochs, lr=self.lr)
        return model
