"""EMA: the average follows the formula, observes without changing training, is reported
beside the raw model, and is the checkpoint's default weight set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from core_tiny import TinyData, TinyNet

from accel.core.callbacks import Callback
from accel.core.callbacks.ema import EMA
from accel.core.checkpoint import CheckpointError, load_checkpoint, model_state_dict, rebuild_model
from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.core.runtime import Trainer, seed_everything


class RecordWeights(Callback):
    """The raw weights after every optimizer step."""

    def __init__(self) -> None:
        self.steps: list[dict[str, torch.Tensor]] = []

    def on_optimizer_step(self, state: Any) -> None:
        self.steps.append({k: v.detach().clone() for k, v in state.model.state_dict().items()})


def fit(tmp_path: Path, callbacks: list[Any], epochs: int = 2) -> tuple[Trainer, TinyNet, dict]:
    seed_everything(0)
    data, model = TinyData(), TinyNet()
    trainer = Trainer(
        max_epochs=epochs,
        run_dir=tmp_path,
        seed=0,
        callbacks=callbacks,
        default_callbacks=False,
        config={"model": {"name": "tiny_net"}},
    )
    from accel.core.callbacks.checkpoint import ModelCheckpoint

    trainer.callbacks.append(ModelCheckpoint())
    result = trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer={"name": "sgd", "lr": 0.1},
        loss="cross_entropy",
        metrics=["accuracy"],
    )
    return trainer, model, result


def test_the_average_follows_the_ema_formula_with_warmup(tmp_path: Path) -> None:
    recorder, ema = RecordWeights(), EMA(decay=0.8, warmup_steps=4, every_n_steps=2)
    fit(tmp_path, [recorder, ema])
    expected: dict[str, torch.Tensor] = {}
    for n, weights in enumerate(recorder.steps[1::2]):  # every second step
        decay = 0.8 * min(1.0, n / 4)
        for key, value in weights.items():
            expected[key] = value.clone() if n == 0 else decay * expected[key] + (1 - decay) * value
    assert ema.averaged is not None
    assert int(ema.averaged.n_averaged) == len(recorder.steps) // 2
    for key, value in ema.averaged.module.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=1e-6, atol=1e-7)


def test_ema_observes_only_and_reports_beside_the_raw_model(tmp_path: Path) -> None:
    _, plain, _ = fit(tmp_path / "plain", [])
    ema = EMA(decay=0.9)
    trainer, model, result = fit(tmp_path / "ema", [ema])
    for key, value in plain.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key
    assert {"val/accuracy", "val_ema/accuracy", "val_ema/loss"} <= set(result)
    tested = trainer.test(model, TinyData().test_dataloader(), metrics=["accuracy"])
    assert {"test/accuracy", "test_ema/accuracy"} <= set(tested)
    assert tested["test_ema/accuracy"] == result["val_ema/accuracy"]  # same data in TinyData


def test_checkpoints_hold_the_ema_weights_as_the_default_weight_set(
    tmp_path: Path, tiny: None
) -> None:
    ema = EMA(decay=0.9)
    _, model, _ = fit(tmp_path, [ema])
    manifest, tensors = load_checkpoint(tmp_path)
    assert manifest["default_weights"] == "ema"
    assert manifest["weights"]["ema"] == ["callbacks", "EMA", "weights"]
    assert ema.averaged is not None
    averaged = ema.averaged.module.state_dict()
    for key, value in model_state_dict(manifest, tensors).items():
        assert torch.equal(value, averaged[key]), key
    rebuilt = rebuild_model(tmp_path).state_dict()
    raw = rebuild_model(tmp_path, weights="raw").state_dict()
    assert all(torch.equal(rebuilt[k], averaged[k]) for k in averaged)
    assert all(torch.equal(raw[k], v) for k, v in model.state_dict().items())
    with pytest.raises(CheckpointError, match="has no 'swa' weights; it has: raw, ema"):
        model_state_dict(manifest, tensors, "swa")


def test_ema_is_registered_and_rejects_bad_options() -> None:
    assert isinstance(build("callbacks", {"name": "ema", "decay": 0.5}), EMA)
    for options, message in [
        ({"decay": 1.5}, r"ema.decay must be a number in \[0.0, 1.0\], got 1.5"),
        ({"warmup_steps": -1}, "ema.warmup_steps must be an int >= 0"),
        ({"every_n_steps": 0}, "ema.every_n_steps must be an int >= 1"),
        ({"validate": "yes"}, "ema.validate must be true or false"),
    ]:
        with pytest.raises(ConfigError, match=message):
            EMA(**options)


def test_a_test_run_uses_the_ema_weights_unless_told_raw(tmp_path: Path, tiny: None) -> None:
    from accel.core.runtime import run_from_config

    ema = EMA(decay=0.5)
    trainer, model, _ = fit(tmp_path / "fit", [ema])
    assert ema.averaged is not None
    loader = TinyData().test_dataloader()
    expected = {
        "ema": trainer.test(ema.averaged.module, loader, loss="cross_entropy")["test/loss"],
        "raw": trainer.test(model, loader, loss="cross_entropy")["test/loss"],
    }
    config = {"model": "tiny_net", "data": "tiny_data", "loss": "cross_entropy"}
    config |= {"checkpoint": str(tmp_path / "fit"), "trainer": {"run_dir": str(tmp_path / "t")}}
    for weights, name in [(None, "ema"), ("raw", "raw"), ("ema", "ema")]:
        result = run_from_config({**config, "weights": weights}, "test")
        assert result["test/loss"] == pytest.approx(expected[name]), weights
