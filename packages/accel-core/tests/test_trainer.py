"""Trainer: fit/validate/test behaviour, exact resume in process, and every bad-input error."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from core_tiny import TinyData, TinyNet, tiny_tensors
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from accel.core.callbacks.checkpoint import ModelCheckpoint
from accel.core.checkpoint import CheckpointError, load_checkpoint, model_state_dict
from accel.core.engines.torch_engine import TorchEngine
from accel.core.errors import ConfigError
from accel.core.runtime import NonFiniteLossError, Trainer, seed_everything


def fit_tiny(
    run_dir: Path,
    max_epochs: int = 2,
    resume: Any = None,
    make_model: Callable[[], nn.Module] = TinyNet,
    **options: Any,
) -> tuple[nn.Module, dict[str, float]]:
    seed_everything(0)
    data, model = TinyData(), make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    trainer = Trainer(max_epochs=max_epochs, run_dir=run_dir, seed=0, **options)
    result = trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=optimizer,
        loss="cross_entropy",
        metrics=["accuracy"],
        scheduler={"name": "step", "step_size": 1, "gamma": 0.5},
        resume=resume,
    )
    return model, result


def test_fit_learns_and_reports_train_and_validation_metrics(tmp_path: Path) -> None:
    _, result = fit_tiny(tmp_path, max_epochs=4)
    assert {"train/loss", "val/loss", "val/accuracy", "lr", "epoch"} <= set(result)
    assert result["val/accuracy"] > 0.6  # 3 classes: chance is 1/3
    assert result["lr"] == pytest.approx(1e-2 * 0.5**4)
    manifest, _ = load_checkpoint(tmp_path)
    assert manifest["state"]["loop"]["global_step"] == 4 * 12


def test_resume_from_an_epoch_end_checkpoint_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    straight, _ = fit_tiny(tmp_path / "straight", max_epochs=3)
    fit_tiny(tmp_path / "split", max_epochs=2)
    resumed, _ = fit_tiny(tmp_path / "split", max_epochs=3, resume="last")
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name


def test_resume_of_a_finished_fit_says_which_limit_to_raise(tmp_path: Path) -> None:
    fit_tiny(tmp_path, max_epochs=2)
    with pytest.raises(
        ConfigError,
        match=r"resume: checkpoint .*epoch=001.* already reached trainer.max_epochs=2 \(it has 2 "
        r"epochs\): nothing left to train",
    ):
        fit_tiny(tmp_path, max_epochs=2, resume="last")
    with pytest.raises(ConfigError, match=r"max_epochs=1 \(it has 2 epochs\)"):
        fit_tiny(tmp_path, max_epochs=1, resume="last")  # past the end


def test_resume_auto_of_a_finished_fit_is_a_no_op(tmp_path: Path) -> None:
    model, _ = fit_tiny(tmp_path, max_epochs=2)
    again, _ = fit_tiny(tmp_path, max_epochs=2, resume="auto")
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, again.state_dict()[name]), name


def test_resume_last_without_a_checkpoint_names_the_run_dir(tmp_path: Path) -> None:
    with pytest.raises(
        CheckpointError, match=r"no checkpoint at .*: expected a checkpoint directory"
    ):
        fit_tiny(tmp_path, resume="last")


def test_resume_auto_without_a_checkpoint_starts_fresh(tmp_path: Path) -> None:
    _, result = fit_tiny(tmp_path, max_epochs=1, resume="auto")
    assert result["epoch"] == 0.0


def test_checkpoint_of_an_incompatible_model_is_one_line_naming_keys_and_shapes(
    tmp_path: Path,
) -> None:
    fit_tiny(tmp_path, max_epochs=1)
    model = TinyNet(hidden=32)
    trainer = Trainer(max_epochs=2, run_dir=tmp_path, callbacks=[], default_callbacks=False)
    with pytest.raises(
        CheckpointError,
        match=r"checkpoint .*epoch=000-step=0000012 does not fit model TinyNet: "
        r"shape net\.0\.weight \(16, 8\) vs \(32, 8\), net\.0\.bias \(16,\) vs \(32,\)",
    ) as info:
        trainer.fit(
            model,
            TinyData().train_dataloader(),
            optimizer={"name": "sgd", "lr": 0.1},
            loss="cross_entropy",
            resume="last",
        )
    assert "\n" not in str(info.value)


def test_checkpoint_of_another_architecture_names_missing_and_unexpected_keys(
    tmp_path: Path,
) -> None:
    fit_tiny(tmp_path, max_epochs=1)
    other = nn.Sequential(nn.Linear(8, 3))
    trainer = Trainer(run_dir=tmp_path, default_callbacks=False)
    with pytest.raises(
        CheckpointError, match=r"missing 0\.weight, 0\.bias; unexpected net\.0\.weight"
    ):
        trainer.fit(
            other,
            TinyData().train_dataloader(),
            optimizer={"name": "sgd", "lr": 0.1},
            loss="cross_entropy",
            resume="last",
        )


def test_a_model_that_does_not_fit_the_data_is_one_line(tmp_path: Path) -> None:
    trainer = Trainer(run_dir=tmp_path, default_callbacks=False)
    with pytest.raises(ConfigError) as caught:
        trainer.fit(
            TinyNet(in_features=5),  # the data has 8 features
            TinyData().train_dataloader(),
            optimizer={"name": "sgd", "lr": 0.1},
            loss="cross_entropy",
        )
    message = str(caught.value)
    assert message.startswith("the first training batch failed (RuntimeError: ")
    assert "shapes cannot be multiplied (8x8 and 5x16)" in message
    assert "model (TinyNet)" in message
    assert "\n" not in message


def test_a_failure_after_the_first_batch_is_not_blamed_on_the_config(tmp_path: Path) -> None:
    class FailsLater(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.calls = TinyNet(), 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("out of memory")
            return self.net(x)

    trainer = Trainer(run_dir=tmp_path, default_callbacks=False)
    with pytest.raises(RuntimeError, match=r"^out of memory$"):
        trainer.fit(
            FailsLater(),
            TinyData().train_dataloader(),
            optimizer={"name": "sgd", "lr": 0.1},
            loss="cross_entropy",
        )


def test_loss_returning_a_non_scalar_is_one_line(tmp_path: Path) -> None:
    trainer = Trainer(run_dir=tmp_path, default_callbacks=False)
    model = TinyNet()
    with pytest.raises(
        ConfigError,
        match=r"loss CrossEntropyLoss returned a tensor of shape \(8,\); a loss must return a "
        r"scalar \(0-dim\) tensor: reduce it",
    ):
        trainer.fit(
            model,
            TinyData().train_dataloader(),
            optimizer={"name": "sgd", "lr": 0.1},
            loss=nn.CrossEntropyLoss(reduction="none"),
        )


class NaNAfter(nn.Module):
    """Cross-entropy that turns NaN from its `n`-th call on."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.calls = n, 0

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        loss = nn.functional.cross_entropy(prediction, target)
        return loss * math.nan if self.calls >= self.n else loss


def test_nan_loss_stops_clearly_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    model = TinyNet()
    trainer = Trainer(max_epochs=3, run_dir=tmp_path, callbacks=[ModelCheckpoint(every_n_steps=5)])
    with pytest.raises(
        NonFiniteLossError,
        match=r"loss became nan by epoch 1 step 15 \(batch 3\): training stopped; last good "
        r"checkpoint: .*epoch=000-step=0000012; lower the learning rate or set clip_grad_norm",
    ):
        trainer.fit(
            model,
            TinyData().train_dataloader(),
            optimizer={"name": "sgd", "lr": 0.1},
            loss=NaNAfter(15),
        )
    manifest, tensors = load_checkpoint(tmp_path)
    assert manifest["name"] == "epoch=000-step=0000012"
    assert all(torch.isfinite(t).all() for t in model_state_dict(manifest, tensors).values())


@pytest.mark.parametrize(
    ("loader", "message"),
    [
        (
            DataLoader(TensorDataset(torch.zeros(0, 8), torch.zeros(0)), batch_size=4),
            r"train_loader yields no batches \(dataset of 0 samples, batch_size=4, "
            r"drop_last=False\)",
        ),
        (
            DataLoader(tiny_tensors(3), batch_size=4, drop_last=True),
            r"train_loader yields no batches \(dataset of 3 samples, batch_size=4, "
            r"drop_last=True\): give it at least one batch",
        ),
    ],
)
def test_empty_train_loader_is_one_line(tmp_path: Path, loader: DataLoader, message: str) -> None:
    trainer = Trainer(run_dir=tmp_path, default_callbacks=False)
    with pytest.raises(ConfigError, match=message):
        trainer.fit(TinyNet(), loader, optimizer={"name": "sgd", "lr": 0.1}, loss="mse")


def test_empty_validation_loader_is_rejected_before_training(tmp_path: Path) -> None:
    empty = DataLoader(TensorDataset(torch.zeros(0, 8), torch.zeros(0)), batch_size=4)
    trainer = Trainer(run_dir=tmp_path, default_callbacks=False)
    with pytest.raises(ConfigError, match=r"val_loader yields no batches"):
        trainer.fit(
            TinyNet(),
            TinyData().train_dataloader(),
            empty,
            optimizer={"name": "sgd", "lr": 0.1},
            loss="cross_entropy",
        )


def test_batch_of_the_wrong_shape_lists_accepted_shapes(tmp_path: Path) -> None:
    x = torch.randn(8, 8)
    loader = DataLoader(TensorDataset(x, x, x), batch_size=4)
    trainer = Trainer(run_dir=tmp_path, default_callbacks=False)
    with pytest.raises(
        ConfigError, match=r"a batch must be \(inputs, targets\) or a mapping .* got list of 3"
    ):
        trainer.fit(TinyNet(), loader, optimizer={"name": "sgd", "lr": 0.1}, loss="mse")


def test_engine_object_with_engine_options_is_a_conflict() -> None:
    with pytest.raises(
        ConfigError,
        match=r"Received both an engine object and trainer option\(s\) precision\. Choose one",
    ):
        Trainer(engine=TorchEngine(device="cpu"), precision="bf16")


def test_validate_and_test_report_prefixed_loss_and_metrics(tmp_path: Path) -> None:
    model, result = fit_tiny(tmp_path, max_epochs=1)
    trainer = Trainer(run_dir=tmp_path, default_callbacks=False)
    loader = TinyData().val_dataloader()
    validated = trainer.validate(model, loader, loss="cross_entropy", metrics=["accuracy"])
    tested = trainer.test(model, loader, metrics=["accuracy"])
    assert validated == pytest.approx(
        {"val/loss": result["val/loss"], "val/accuracy": result["val/accuracy"]}
    )
    assert tested == {"test/accuracy": validated["val/accuracy"]}
    with pytest.raises(ConfigError, match=r"test needs a loss or metrics"):
        trainer.test(model, loader)


def test_max_steps_stops_mid_epoch_and_checkpoints_there(tmp_path: Path) -> None:
    fit_tiny(tmp_path, max_epochs=5, max_steps=7)
    manifest, _ = load_checkpoint(tmp_path)
    assert manifest["name"] == "epoch=000-step=0000007-mid"


def test_gradient_accumulation_matches_a_batch_twice_as_large(tmp_path: Path) -> None:
    x, y = torch.randn(32, 8), torch.randn(32, 1)

    def train(batch_size: int, accumulate: int) -> torch.Tensor:
        torch.manual_seed(0)
        model = nn.Linear(8, 1)
        trainer = Trainer(
            max_epochs=2,
            run_dir=tmp_path,
            accumulate_grad_batches=accumulate,
            default_callbacks=False,
        )
        trainer.fit(
            model,
            DataLoader(TensorDataset(x, y), batch_size=batch_size),
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            loss="mse",
        )
        return model.weight.detach()

    assert torch.allclose(train(4, 2), train(8, 1), atol=1e-6)
    assert not torch.allclose(train(4, 1), train(8, 1), atol=1e-6)


def test_bf16_precision_runs_on_this_device(tmp_path: Path) -> None:
    _, result = fit_tiny(tmp_path, max_epochs=1, precision="bf16", default_callbacks=False)
    assert math.isfinite(result["train/loss"])


def test_plateau_scheduler_steps_on_the_monitored_metric(tmp_path: Path) -> None:
    model = TinyNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    trainer = Trainer(max_epochs=3, run_dir=tmp_path, default_callbacks=False)
    data = TinyData()

    def flat_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return prediction.sum() * 0 + 1  # never improves

    result = trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=optimizer,
        loss=flat_loss,
        scheduler={"scheduler": plateau, "monitor": "val/loss"},
    )
    assert result["val/loss"] == 1.0
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**2)


def test_plateau_scheduler_with_a_missing_metric_lists_metrics(tmp_path: Path) -> None:
    model = TinyNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    trainer = Trainer(run_dir=tmp_path, default_callbacks=False)
    with pytest.raises(
        ConfigError,
        match=r"scheduler monitors 'val/acc', which is not a metric; available: epoch, train/loss",
    ):
        trainer.fit(
            model,
            TinyData().train_dataloader(),
            optimizer=optimizer,
            loss="cross_entropy",
            scheduler={"scheduler": plateau, "monitor": "val/acc"},
        )


def test_default_callbacks_and_replacing_one_by_type() -> None:
    from accel.core.callbacks.early_stopping import EarlyStopping

    names = [type(c).__name__ for c in Trainer().callbacks]
    assert names == ["ProgressBar", "MetricLogger", "ModelCheckpoint", "LRMonitor"]
    mine = ModelCheckpoint(save_top_k=3)
    given = Trainer(callbacks=[mine, {"name": "early_stopping"}]).callbacks
    assert [type(c).__name__ for c in given] == [
        "ProgressBar",
        "MetricLogger",
        "LRMonitor",
        "ModelCheckpoint",
        "EarlyStopping",
    ]
    assert given[3] is mine
    assert isinstance(given[4], EarlyStopping)
    assert Trainer(default_callbacks=False).callbacks == []


def test_deterministic_runs_repeat_exactly(tmp_path: Path) -> None:
    try:
        first, _ = fit_tiny(
            tmp_path / "a", max_epochs=1, deterministic=True, default_callbacks=False
        )
        second, _ = fit_tiny(
            tmp_path / "b", max_epochs=1, deterministic=True, default_callbacks=False
        )
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
    for name, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[name])


def test_a_callback_with_an_unknown_event_is_rejected_when_the_trainer_is_made() -> None:
    from accel.core.callbacks import Callback

    class Typo(Callback):
        def on_train_end(self, state: Any) -> None: ...

    with pytest.raises(
        ConfigError, match=r"callback Typo defines on_train_end: unknown event 'train_end'"
    ):
        Trainer(callbacks=[Typo()])


def dropout_free_mlp() -> nn.Module:
    """Compiled dropout draws other random numbers than eager: compare a model without it."""
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))


def test_compiled_fit_matches_eager_and_checkpoints_plain_weights(tmp_path: Path) -> None:
    eager, eager_result = fit_tiny(tmp_path / "eager", 1, make_model=dropout_free_mlp)
    compiled, compiled_result = fit_tiny(
        tmp_path / "compiled", 1, make_model=dropout_free_mlp, compile=True
    )
    assert compiled_result["val/accuracy"] == pytest.approx(eager_result["val/accuracy"], abs=0.02)
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    manifest, tensors = load_checkpoint(tmp_path / "compiled")
    state = model_state_dict(manifest, tensors)
    assert set(state) == set(eager.state_dict())  # no `_orig_mod.` prefixes


def test_trainer_options_are_keyword_only() -> None:
    """Options go by name: a positional call (which could swap two options) is refused."""
    with pytest.raises(TypeError, match="positional argument"):
        Trainer(3)  # type: ignore[misc]
    trainer = Trainer(max_epochs=3, log_every_n_steps=7, val_every_n_epochs=2, device="cpu")
    assert (trainer.options.max_epochs, trainer.options.log_every_n_steps) == (3, 7)
    assert trainer.options.val_every_n_epochs == 2
