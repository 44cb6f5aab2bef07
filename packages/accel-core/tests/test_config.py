"""run_from_config: the same run as the library use, and one-line errors for bad configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from core_tiny import TinyData, TinyNet
from torch import nn

from accel.core.checkpoint import load_checkpoint, model_state_dict, rebuild_model
from accel.core.errors import ConfigError
from accel.core.registry import registry
from accel.core.runtime import Trainer, build_context, run_from_config, seed_everything


def config(run_dir: Path, **changes: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "seed": 0,
        "model": {"name": "tiny_net"},
        "data": {"name": "tiny_data", "batch_size": 8},
        "optimizer": {"name": "adamw", "lr": 1e-2},
        "scheduler": None,
        "loss": {"name": "cross_entropy", "label_smoothing": 0.1},
        "metrics": ["accuracy"],
        "callbacks": [{"name": "early_stopping", "monitor": "val/loss", "patience": 5}],
        "trainer": {"max_epochs": 2, "run_dir": str(run_dir)},
        "tracker": None,
    }
    cfg.update(changes)
    return cfg


@pytest.mark.usefixtures("tiny")
def test_config_run_gives_the_library_run_result(tmp_path: Path) -> None:
    from accel.core.callbacks.early_stopping import EarlyStopping
    from accel.core.losses import CrossEntropy

    from_config = run_from_config(config(tmp_path / "cfg"))

    seed_everything(0)
    data = TinyData(batch_size=8)
    model = TinyNet(num_classes=3)
    trainer = Trainer(
        max_epochs=2,
        run_dir=tmp_path / "lib",
        seed=0,
        callbacks=[EarlyStopping("val/loss", patience=5)],
    )
    from_library = trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=torch.optim.AdamW(model.parameters(), lr=1e-2),
        loss=CrossEntropy(label_smoothing=0.1),
        metrics=[{"name": "accuracy", "num_classes": 3}],
    )
    assert from_config == from_library
    _, config_tensors = load_checkpoint(tmp_path / "cfg")
    for name, tensor in model.state_dict().items():
        assert torch.equal(config_tensors[f"model.{name}"], tensor)


@pytest.mark.usefixtures("tiny")
def test_checkpoint_from_config_rebuilds_the_model_with_data_num_classes(tmp_path: Path) -> None:
    run_from_config(config(tmp_path, data={"name": "tiny_data", "num_classes": 4}))
    manifest, tensors = load_checkpoint(tmp_path)
    assert manifest["config"]["model"] == {"name": "tiny_net", "num_classes": 4}
    model = rebuild_model(tmp_path)
    assert model.net[-1].out_features == 4
    weights = model_state_dict(manifest, tensors)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in weights.items())


@pytest.mark.usefixtures("tiny")
def test_test_stage_loads_a_checkpoint_and_reports_test_metrics(tmp_path: Path) -> None:
    fit = run_from_config(config(tmp_path))
    test = run_from_config(config(tmp_path, checkpoint=str(tmp_path)), stage="test")
    assert set(test) == {"test/loss", "test/accuracy"}
    assert test["test/accuracy"] == pytest.approx(fit["val/accuracy"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"trainer": {"max_epochs": "5"}},
            r"trainer\.max_epochs must be an int >= 1, got '5' \(str\)",
        ),
        (
            {"trainer": {"max_epoch": 5}},
            r"trainer: unexpected argument 'max_epoch'; accepted: max_epochs, ",
        ),
        (
            {"trainer": {"precision": "64"}},
            r"trainer\.precision='64' is not valid; use one of 32, bf16, 16",
        ),
        (
            {"trainer": {"precision": "16", "device": "cpu"}},
            r"precision='16' needs CUDA \(device is cpu\)",
        ),
        ({"model": 3}, r"config\.model must be a name or a mapping with 'name', got 3 \(int\)"),
        ({"seed": "0"}, r"config\.seed must be an int or null, got '0' \(str\)"),
        ({"metrics": "accuracy"}, r"config\.metrics must be a list of names or specs"),
        ({"callbacks": {"name": "x"}}, r"config\.callbacks must be a list of callback specs"),
        ({"loss": None}, r"config for stage 'fit' is missing loss"),
        (
            {"metrics": ["acuracy"]},
            r"unknown metric 'acuracy'; available: accuracy.*Did you mean 'accuracy'",
        ),
        (
            {"callbacks": [{"name": "early_stoping"}]},
            r"accel\.callbacks has no 'early_stoping'.*Did you mean 'early_stopping'",
        ),
        (
            {"scheduler": {"name": "step", "step_size": 1, "interval": "batch"}},
            r"scheduler\.interval='batch' is not valid; use one of epoch, step",
        ),
    ],
)
@pytest.mark.usefixtures("tiny")
def test_bad_config_is_one_line_naming_key_and_valid_values(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        run_from_config(config(tmp_path, **changes))
    assert "\n" not in str(info.value)


def test_unknown_stage_is_rejected() -> None:
    with pytest.raises(
        ConfigError, match=r"stage 'train' is not valid; use one of fit, validate, test"
    ):
        run_from_config({}, stage="train")


@pytest.mark.usefixtures("tiny")
def test_context_holds_every_component(tmp_path: Path) -> None:
    ctx = build_context(config(tmp_path, scheduler={"name": "step", "step_size": 1}))
    assert isinstance(ctx.model, TinyNet)
    assert isinstance(ctx.optimizer, torch.optim.AdamW)
    assert isinstance(ctx.scheduler.scheduler, torch.optim.lr_scheduler.StepLR)
    assert ctx.metrics["accuracy"].num_classes == 3
    assert [type(c).__name__ for c in ctx.callbacks] == ["EarlyStopping"]
    assert len(ctx.train_loader) == 12
    assert ctx.test_loader is None


@pytest.mark.usefixtures("tiny")
def test_a_given_model_is_fitted_in_place_and_no_other_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = TinyNet(hidden=4)  # e.g. a pruned model: not the shapes config.model would build
    before = [p.detach().clone() for p in given.parameters()]
    built: list[Any] = []
    monkeypatch.setattr(TinyNet, "__init__", lambda *a, **k: built.append(a) or None)
    ctx = build_context(config(tmp_path), model=given)
    assert ctx.model is given
    assert not built  # the config's model was never built, to be thrown away
    assert [p for g in ctx.optimizer.param_groups for p in g["params"]] == list(given.parameters())
    run_from_config(config(tmp_path / "run"), "fit", model=given)
    assert any(not torch.equal(b, p) for b, p in zip(before, given.parameters(), strict=True))


@pytest.mark.usefixtures("tiny")
def test_config_resume_continues_to_the_uninterrupted_result(tmp_path: Path) -> None:
    straight = run_from_config(
        config(tmp_path / "a", trainer={"max_epochs": 3, "run_dir": str(tmp_path / "a")})
    )
    run_from_config(
        config(tmp_path / "b", trainer={"max_epochs": 2, "run_dir": str(tmp_path / "b")})
    )
    resumed = run_from_config(
        config(
            tmp_path / "b", trainer={"max_epochs": 3, "run_dir": str(tmp_path / "b")}, resume="last"
        )
    )
    assert resumed == straight
    weights_a = model_state_dict(*load_checkpoint(tmp_path / "a"))
    weights_b = model_state_dict(*load_checkpoint(tmp_path / "b"))
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)


@pytest.mark.usefixtures("tiny")
def test_trainer_options_that_belong_at_the_top_level_are_named(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"trainer\.callbacks belongs at the top level of the config"
    ):
        run_from_config(config(tmp_path, trainer={"callbacks": []}))


def test_model_spec_takes_in_channels_and_classes_from_the_data_unless_set() -> None:
    from accel.core.registry import register
    from accel.core.runtime.context import model_spec

    @register("models", "test_channels_net", override=True)
    def test_channels_net(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
        return nn.Conv2d(in_channels, num_classes, 1)

    filled = model_spec("test_channels_net", 7, (1, 8, 8))
    assert filled == {"name": "test_channels_net", "num_classes": 7, "in_channels": 1}
    kept = model_spec({"name": "test_channels_net", "in_channels": 3}, 7, (1, 8, 8))
    assert kept["in_channels"] == 3
    assert model_spec({"_target_": "x.y"}, 7, (1, 8, 8)) == {"_target_": "x.y"}


def test_a_data_module_fills_its_model_arguments_into_the_spec_where_the_model_takes_them():
    from accel.core.registry import register
    from accel.core.runtime.context import data_model_spec

    @register("models", "test_fitted_net", override=True)
    def test_fitted_net(num_classes: int = 2, center: list[float] | None = None) -> nn.Module:
        return nn.Linear(len(center or [0.0]), num_classes)

    class Fitted:
        num_classes = 3

        def model_arguments(self) -> dict[str, object]:
            return {"center": [0.5, 1.5], "unknown_to_the_model": 1}

    spec = data_model_spec("test_fitted_net", Fitted())
    assert spec == {"name": "test_fitted_net", "num_classes": 3, "center": [0.5, 1.5]}
    assert data_model_spec({"name": "test_fitted_net", "center": [9.0]}, Fitted())["center"] == [
        9.0
    ]


@pytest.mark.usefixtures("tiny")
def test_fit_then_test_builds_one_context_and_tests_the_last_weights(tmp_path: Path) -> None:
    built: list[int] = []

    class Counting(TinyNet):
        def __init__(self, **kwargs: Any) -> None:
            built.append(1)
            super().__init__(**kwargs)

    with registry("models").registered("counting_net", Counting):
        both = run_from_config(config(tmp_path, model={"name": "counting_net"}), "fit+test")
    assert len(built) == 1  # one Context: the model (and data) are built once
    assert {"train/loss", "val/loss", "test/loss", "test/accuracy"} <= set(both)
    alone = run_from_config(config(tmp_path, checkpoint=str(tmp_path)), stage="test")
    assert both["test/accuracy"] == alone["test/accuracy"]  # the last checkpoint's weights
    assert both["test/loss"] == pytest.approx(alone["test/loss"], rel=1e-6)
