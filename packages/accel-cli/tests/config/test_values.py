"""Value ranges checked before a run: seed, run dir, torch optimizer/scheduler arguments."""

from __future__ import annotations

from typing import Any

import pytest

from accel.cli.config.values import check_values
from accel.core.errors import ConfigError

VALID: dict[str, Any] = {
    "seed": 0,
    "trainer": {"run_dir": "runs/x"},
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    "scheduler": {"name": "cosine", "T_max": 3},
}


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("seed", -1, r"seed=-1: expected an int in \[0, 4294967295\] or null"),
        ("seed", 2**32, r"seed=4294967296"),
        ("seed", True, r"seed=True"),
        ("seed", 1.0, r"seed=1.0"),
        ("trainer", {"run_dir": "runs/a\nb"}, r"trainer.run_dir='runs/a\\nb': expected a folder"),
        ("trainer", {"run_dir": "a\x00b"}, r"trainer.run_dir="),
        ("trainer", {"run_dir": None}, r"trainer.run_dir=None"),
        ("trainer", {"run_dir": ""}, r"trainer.run_dir=''"),
        ("optimizer", {"name": "sgd", "lr": -0.1}, r"optimizer.lr=-0.1: expected a finite"),
        ("optimizer", {"name": "sgd", "lr": 0.1, "momentum": 2}, r"optimizer.momentum=2"),
        ("optimizer", {"_target_": "torch.optim.SGD", "lr": -1}, r"optimizer.lr=-1"),
        ("scheduler", {"name": "cosine", "T_max": 0}, r"scheduler.T_max=0: expected an int >= 1"),
        ("scheduler", {"name": "step", "step_size": -1}, r"scheduler.step_size=-1"),
    ],
)
def test_out_of_range(section: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_values({**VALID, section: value})


def test_valid_values_pass() -> None:
    check_values(VALID)
    check_values({**VALID, "seed": None, "scheduler": None, "trainer": {}})
    check_values({**VALID, "seed": 2**32 - 1})


def test_components_outside_torch_optim_are_left_to_their_own_checks() -> None:
    check_values({**VALID, "optimizer": {"_target_": "my_pkg.Fast", "lr": -1}})  # not imported
