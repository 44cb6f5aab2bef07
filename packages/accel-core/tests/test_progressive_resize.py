"""Progressive resizing: training sizes follow the schedule, evaluation keeps the data's size,
and a run resumed mid-schedule ends with the same weights as an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from accel.core.callbacks.progressive_resize import ProgressiveResize
from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.core.runtime import Trainer, seed_everything


class SmallCnn(nn.Module):
    """Any input size (adaptive pooling); records the sizes it trains and evaluates on."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, 2)
        self.seen: list[tuple[bool, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append((self.training, x.shape[-1]))
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def images() -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(32, 1, 8, 8, generator=generator)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)


def fit(run_dir: Path, resume: str | None = None, **options: int) -> SmallCnn:
    seed_everything(0)
    model = SmallCnn()
    callback = ProgressiveResize(schedule={"1": 4, 3: [6, 6]})
    trainer = Trainer(run_dir=run_dir, seed=0, callbacks=[callback], **options)
    trainer.fit(model, images(), images(), optimizer={"name": "sgd", "lr": 0.1},
                loss="cross_entropy", resume=resume)  # fmt: skip
    return model


def test_training_sizes_follow_the_schedule_and_evaluation_keeps_its_own(tmp_path: Path) -> None:
    model = fit(tmp_path, max_epochs=4)
    trained = [size for training, size in model.seen if training]
    assert trained == [8] * 4 + [4] * 4 + [4] * 4 + [6] * 4  # 4 batches an epoch
    assert {size for training, size in model.seen if not training} == {8}
    assert model._forward_pre_hooks == {}  # removed at the end of the fit


def test_a_resume_mid_schedule_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    straight = fit(tmp_path / "straight", max_epochs=4)
    fit(tmp_path / "split", max_epochs=4, max_steps=10)  # stops in epoch 2, mid-phase
    resumed = fit(tmp_path / "split", resume="last", max_epochs=4)
    assert [size for training, size in resumed.seen if training] == [4, 4] + [6] * 4
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_bad_schedules_and_inputs_are_one_line(tmp_path: Path) -> None:
    assert isinstance(
        build("callbacks", {"name": "progressive_resize", "schedule": {0: 4}}), ProgressiveResize
    )
    for schedule, message in [
        ({}, "must map epochs to sizes"),
        ({"x": 4}, "'x' is not an epoch"),
        ({0: [4]}, r"schedule\[0\]: size must be an int >= 1 or \[height, width\]"),
    ]:
        with pytest.raises(ConfigError, match=message):
            ProgressiveResize(schedule=schedule)
    with pytest.raises(ConfigError, match="mode='linear' is not valid"):
        ProgressiveResize(schedule={0: 4}, mode="linear")
    callback = ProgressiveResize(schedule={0: 4})
    data = DataLoader(TensorDataset(torch.randn(8, 3), torch.zeros(8).long()), batch_size=4)
    with pytest.raises(
        ConfigError, match=r"needs image batches \(N, C, H, W\); the model got \(4, 3\)"
    ):
        Trainer(run_dir=tmp_path, callbacks=[callback]).fit(
            nn.Linear(3, 2), data, optimizer={"name": "sgd", "lr": 0.1}, loss="cross_entropy"
        )
