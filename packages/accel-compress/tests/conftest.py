"""Real data (scikit-learn's digits) and trained models shared by the tests.

The digits classifiers train in a few seconds once per session.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))  # the tests import compress_models

from compress_models import MLP, Tiny, TinyResNet

torch.set_num_threads(1)  # correctness tests: one thread is steadier on a busy machine


@dataclass
class Digits:
    """Real 8×8 digit images split into train/test batches of (inputs, labels)."""

    train: list[Any]
    test: list[Any]
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def calib(self) -> list[torch.Tensor]:
        return [x for x, _ in self.train[:8]]

    @property
    def example(self) -> torch.Tensor:
        return self.train[0][0]


@pytest.fixture(scope="session")
def digits() -> Digits:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(data.target, dtype=torch.long)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[order], y[order]
    split = 1300
    train = list(zip(x[:split].split(32), y[:split].split(32), strict=True))
    test = list(zip(x[split:].split(64), y[split:].split(64), strict=True))
    return Digits(train, test, x[split:], y[split:])


def train(model: nn.Module, digits: Digits, epochs: int) -> nn.Module:
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(epochs):
        for x, y in digits.train:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    return model.eval()


@pytest.fixture(scope="session")
def trained_resnet(digits: Digits) -> nn.Module:
    """TinyResNet trained on digits (~97-99% test accuracy) in a few seconds."""
    torch.manual_seed(0)
    return train(TinyResNet(), digits, epochs=8)


@pytest.fixture(scope="session")
def trained_mlp(digits: Digits) -> nn.Module:
    torch.manual_seed(0)
    return train(MLP(), digits, epochs=10)


@pytest.fixture
def resnet(trained_resnet: nn.Module) -> nn.Module:
    """A fresh copy of the trained ResNet (tests may change it)."""
    import copy

    return copy.deepcopy(trained_resnet)


TINY_ARCH = "test_tiny"


@dataclass
class TinyFiles:
    """One tiny model in every format accel reads, and tiny data, written once per session."""

    dir: Path
    arch: str
    model: Path  # a state dict: needs --arch
    program: Path  # a torch.export program with a dynamic batch
    script: Path  # TorchScript
    calib: Path  # .npy inputs
    eval: Path  # .npz x, y


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The tiny model (registered as `test_tiny`) as files, with 16 samples of data."""
    import numpy as np

    from accel.core.registry import registry

    folder = tmp_path_factory.mktemp("tiny")
    registry("models").add(TINY_ARCH, Tiny, override=True)
    torch.manual_seed(0)
    model = Tiny().eval()
    torch.save(model.state_dict(), folder / "model.pt")
    x = torch.rand(16, 1, 8, 8)
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (x[:2],), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(folder / "model.pt2"))
    torch.jit.script(model).save(str(folder / "script.pt"))
    np.save(folder / "calib.npy", x.numpy())
    np.savez(folder / "eval.npz", x=x.numpy(), y=np.arange(16) % 10)
    yield TinyFiles(
        folder,
        TINY_ARCH,
        folder / "model.pt",
        folder / "model.pt2",
        folder / "script.pt",
        folder / "calib.npy",
        folder / "eval.npz",
    )
    registry("models").remove(TINY_ARCH)
