"""The `finetune` pass trains with the optimizer and loss its specs name (registry specs, as
in a training config), not a hard-coded Adam + cross-entropy."""

from __future__ import annotations

import pytest
import torch
from compress_models import Tiny

from accel.compress.passes.finetune import Finetune
from accel.core.errors import ConfigError
from accel.core.passes import PassContext


def weights(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()]).clone()


def test_the_optimizer_spec_is_the_one_that_trains(digits) -> None:
    context = PassContext(train_data=digits.train)
    model = Tiny()
    before = weights(model)
    Finetune(1, optimizer={"name": "sgd", "lr": 0.0}, max_batches=3)(model, context)
    assert torch.equal(weights(model), before)  # SGD at lr 0: nothing moves (Adam would)
    Finetune(1, optimizer="sgd", lr=0.5, max_batches=3)(model, context)
    assert not torch.equal(weights(model), before)
    optimizers = [report.metrics["optimizer"] for report in context.reports]
    assert optimizers == [{"name": "sgd", "lr": 0.0}, {"name": "sgd", "lr": 0.5}]


def test_the_loss_and_optimizer_come_from_the_registry(digits) -> None:
    context = PassContext(train_data=digits.train)
    with pytest.raises(ConfigError, match="no_such_loss"):
        Finetune(1, loss="no_such_loss")(Tiny(), context)
    with pytest.raises(ConfigError, match="no_such_optimizer"):
        Finetune(1, optimizer="no_such_optimizer")(Tiny(), context)


def test_without_training_data_it_is_skipped_with_a_note() -> None:
    context = PassContext()
    model = Tiny()
    before = weights(model)
    assert Finetune(1)(model, context) is model
    assert torch.equal(weights(model), before)
    assert context.reports[0].status == "skipped"
    assert "--train-data" in context.reports[0].notes[0]


def test_epochs_must_be_a_count() -> None:
    with pytest.raises(ConfigError, match="epochs must be an int >= 0, got -1"):
        Finetune(-1)
