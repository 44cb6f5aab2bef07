"""torch optimizer and scheduler arguments are range-checked by name before they are built."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from accel.core.errors import ConfigError
from accel.core.registry import build

PARAMS = [torch.nn.Parameter(torch.zeros(2))]

BAD_OPTIMIZERS = [
    ({"name": "sgd", "lr": -0.1}, r"optimizer.lr=-0.1: expected a finite number >= 0"),
    ({"name": "sgd", "lr": float("nan")}, r"optimizer.lr=nan"),
    ({"name": "sgd", "lr": float("inf")}, r"optimizer.lr=inf"),
    (
        {"name": "sgd", "lr": 0.1, "momentum": 2},
        r"momentum=2: expected .* in \[0, 1\]",
    ),
    ({"name": "sgd", "lr": 0.1, "momentum": -1}, r"optimizer.momentum=-1"),
    ({"name": "sgd", "lr": 0.1, "weight_decay": -1e-4}, r"optimizer.weight_decay"),
    (
        {"name": "adam", "betas": [0.9, 1.0]},
        r"betas=\[0.9, 1.0\]: expected two .*\[0, 1\)",
    ),
    ({"name": "adam", "betas": [0.9]}, r"optimizer.betas"),
    ({"name": "adamw", "eps": -1}, r"optimizer.eps"),
    ({"name": "rmsprop", "alpha": 1.5}, r"optimizer.alpha"),
    ({"name": "sgd", "lr": "fast"}, r"optimizer.lr='fast'"),
]
BAD_SCHEDULERS = [
    ({"name": "cosine", "T_max": 0}, r"scheduler.T_max=0: expected an int >= 1"),
    ({"name": "cosine", "T_max": -1}, r"scheduler.T_max=-1"),
    ({"name": "cosine", "T_max": 2.5}, r"scheduler.T_max=2.5"),
    ({"name": "cosine", "T_max": 5, "eta_min": -1}, r"scheduler.eta_min"),
    ({"name": "step", "step_size": 0}, r"scheduler.step_size=0"),
    ({"name": "step", "step_size": 1, "gamma": 0}, r"scheduler.gamma=0: expected .* > 0"),
    ({"name": "multistep", "milestones": [5, 2]}, r"milestones=\[5, 2\]: expected increasing"),
    ({"name": "multistep", "milestones": []}, r"scheduler.milestones"),
    ({"name": "plateau", "factor": 1.0}, r"scheduler.factor=1.0: expected .* \[0, 1\)"),
    ({"name": "plateau", "patience": -1}, r"scheduler.patience"),
    ({"name": "cosine_warm_restarts", "T_0": 0}, r"scheduler.T_0"),
    ({"name": "onecycle", "max_lr": 0.1, "total_steps": 10, "pct_start": 1.0}, r"pct_start"),
    ({"name": "linear", "start_factor": 0}, r"scheduler.start_factor"),
    ({"name": "constant", "factor": 0}, r"scheduler.factor=0"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_OPTIMIZERS)
def test_an_optimizer_argument_out_of_range_is_named(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build("optimizers", spec, config_key="optimizer", params=PARAMS)


@pytest.mark.parametrize(("spec", "message"), BAD_SCHEDULERS)
def test_a_scheduler_argument_out_of_range_is_named(spec: dict[str, Any], message: str) -> None:
    optimizer = torch.optim.SGD(PARAMS, lr=0.1)
    with pytest.raises(ConfigError, match=message):
        build("schedulers", spec, config_key="scheduler", optimizer=optimizer)


def test_valid_arguments_build() -> None:
    optimizer = build("optimizers", {"name": "sgd", "lr": 0.1, "momentum": 0.9}, params=PARAMS)
    scheduler = build(
        "schedulers", {"name": "multistep", "milestones": [2, 4]}, optimizer=optimizer
    )
    assert isinstance(scheduler, torch.optim.lr_scheduler.MultiStepLR)


def test_an_error_the_constructor_raises_is_one_config_error_naming_the_section() -> None:
    spec = {"name": "sgd", "lr": 0.1, "nesterov": True}  # torch: nesterov needs momentum
    with pytest.raises(ConfigError, match=r"^optimizer \(sgd\): Nesterov momentum requires"):
        build("optimizers", spec, config_key="optimizer", params=PARAMS)
