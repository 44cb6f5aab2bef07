"""SWA: equal average of the SWA epochs' weights under the SWA learning rate, BatchNorm
statistics recomputed for the average, reported and checkpointed as the `swa` weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from core_tiny import TinyData
from torch import nn
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader

from accel.core.callbacks import Callback
from accel.core.callbacks.swa import SWA
from accel.core.checkpoint import load_checkpoint, model_state_dict
from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.core.runtime import Trainer, seed_everything


class BNNet(nn.Module):
    """A small MLP with BatchNorm, so recomputed statistics matter."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class RecordEpochs(Callback):
    """The raw weights and the learning rate each epoch trained with, at its end."""

    def __init__(self) -> None:
        self.weights: list[dict[str, torch.Tensor]] = []
        self.lrs: list[float] = []

    def on_validation_start(self, state: Any) -> None:
        self.lrs.append(state.optimizer.param_groups[0]["lr"])
        self.weights.append({k: p.detach().clone() for k, p in state.model.named_parameters()})


def in_order() -> DataLoader:
    """The training data in a fixed order (BatchNorm statistics depend on the batches)."""
    return DataLoader(TinyData().dataset, batch_size=8)


def fit(tmp_path: Path, swa: SWA, recorder: RecordEpochs, epochs: int = 4) -> tuple[nn.Module, Any]:
    seed_everything(0)
    data, model = TinyData(), BNNet()
    trainer = Trainer(max_epochs=epochs, run_dir=tmp_path, seed=0, callbacks=[recorder, swa])
    result = trainer.fit(
        model,
        in_order(),
        data.val_dataloader(),
        optimizer={"name": "sgd", "lr": 0.1},
        loss="cross_entropy",
        scheduler={"name": "step", "step_size": 1, "gamma": 0.5},
        metrics=["accuracy"],
    )
    return model, result


def test_swa_averages_the_swa_epochs_under_the_swa_lr_and_recomputes_bn(tmp_path: Path) -> None:
    recorder, swa = RecordEpochs(), SWA(swa_lr=0.02, swa_start=2, anneal_epochs=0)
    _, result = fit(tmp_path, swa, recorder)
    assert swa.averaged is not None
    assert int(swa.averaged.n_averaged) == 2  # epochs 2 and 3
    for name, param in swa.averaged.module.named_parameters():
        mean = (recorder.weights[2][name] + recorder.weights[3][name]) / 2
        torch.testing.assert_close(param, mean, rtol=1e-6, atol=1e-7)
    assert recorder.lrs == pytest.approx([0.1, 0.05, 0.02, 0.02])  # the fit's step LR, then SWA
    again = BNNet()
    again.load_state_dict(swa.averaged.module.state_dict())
    update_bn(in_order(), again)
    bn = swa.averaged.module.net[1]
    torch.testing.assert_close(bn.running_mean, again.net[1].running_mean, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(bn.running_var, again.net[1].running_var, rtol=1e-6, atol=1e-7)
    assert {"val_swa/accuracy", "val_swa/loss", "val/accuracy"} <= set(result)
    manifest, tensors = load_checkpoint(tmp_path)
    assert manifest["default_weights"] == "swa"
    stored = model_state_dict(manifest, tensors)
    assert torch.equal(stored["net.1.running_mean"], bn.running_mean)


def test_swa_start_as_a_fraction_and_its_bad_values(tmp_path: Path) -> None:
    assert SWA(swa_lr=0.1, swa_start=0.75).start_epoch(8) == 6
    assert isinstance(build("callbacks", {"name": "swa", "swa_lr": 0.1}), SWA)
    with pytest.raises(ConfigError, match=r"swa.swa_start=5 is at or after the last epoch"):
        fit(tmp_path, SWA(swa_lr=0.1, swa_start=5), RecordEpochs(), epochs=2)
    for options, message in [
        ({"swa_lr": 0}, "swa.swa_lr must be a number > 0"),
        ({"swa_lr": 0.1, "swa_start": 1.5}, r"must be in \[0, 1\), got 1.5"),
        ({"swa_lr": 0.1, "anneal_strategy": "exp"}, "swa.anneal_strategy='exp' is not valid"),
        ({"swa_lr": 0.1, "anneal_epochs": -1}, "swa.anneal_epochs must be an int >= 0"),
    ]:
        with pytest.raises(ConfigError, match=message):
            SWA(**options)
