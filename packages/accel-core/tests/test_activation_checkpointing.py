"""Gradient checkpointing: the same gradients and BatchNorm statistics, fewer saved
activations, the blocks chosen as documented, and the Trainer option."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from core_tiny import TinyData, TinyNet
from torch import nn

from accel.core.errors import ConfigError
from accel.core.runtime import Trainer, seed_everything
from accel.core.runtime.activation_checkpointing import (
    checkpoint_blocks,
    disable_checkpointing,
    enable_checkpointing,
)


class Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.drop = nn.Dropout(0.2)  # RNG inside: the recomputation must replay it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(torch.relu(self.bn(self.conv(x))))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(inplace=True))
        self.layers = nn.Sequential(Block(8), Block(8), Block(8))
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(self.stem(x)).mean(dim=(2, 3)))


def grads_and_saved(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], int]:
    """Gradients of one step, and the bytes autograd kept for the backward pass."""
    saved = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        saved += tensor.numel() * tensor.element_size()
        return tensor

    torch.manual_seed(3)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(x).square().mean()
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}, saved


def test_checkpointed_gradients_and_bn_statistics_equal_the_plain_ones() -> None:
    torch.manual_seed(0)
    plain = Net()
    checkpointed = copy.deepcopy(plain)
    assert [type(b).__name__ for b in enable_checkpointing(checkpointed)] == [
        "Sequential",
        "Block",
        "Block",
        "Block",
    ]
    x = torch.randn(4, 1, 16, 16)
    expected, saved_plain = grads_and_saved(plain, x)
    found, saved_checkpointed = grads_and_saved(checkpointed, x)
    assert expected.keys() == found.keys()
    for name, grad in expected.items():
        torch.testing.assert_close(found[name], grad, rtol=0, atol=1e-6)
    other = checkpointed.state_dict()
    for name, value in plain.state_dict().items():
        assert torch.equal(value, other[name]), name  # running stats counted once
    assert saved_checkpointed < saved_plain / 2
    assert plain.state_dict().keys() == checkpointed.state_dict().keys()
    disable_checkpointing(checkpointed)
    assert "forward" not in vars(checkpointed.layers[0])


def test_registered_blocks_win_and_a_model_without_blocks_is_one_line() -> None:
    class Registered(Net):
        def checkpoint_blocks(self) -> list[nn.Module]:
            return [self.layers[1]]

    model = Registered()
    assert checkpoint_blocks(model) == [model.layers[1]]
    with pytest.raises(ConfigError, match=r"model Linear has no nn\.Sequential"):
        enable_checkpointing(nn.Linear(2, 2))


def test_the_trainer_option_trains_the_same_weights(tmp_path: Path) -> None:
    results = []
    for flag in (False, True):
        seed_everything(0)
        data, model = TinyData(), TinyNet()
        trainer = Trainer(
            max_epochs=1, run_dir=tmp_path / str(flag), seed=0, gradient_checkpointing=flag
        )
        trainer.fit(model, data.train_dataloader(), optimizer={"name": "sgd", "lr": 0.1},
                    loss="cross_entropy")  # fmt: skip
        results.append(model.state_dict())
    for key, value in results[0].items():
        torch.testing.assert_close(results[1][key], value, rtol=0, atol=1e-6)
    with pytest.raises(ConfigError, match=r"trainer\.gradient_checkpointing must be true or false"):
        Trainer(gradient_checkpointing="yes")  # type: ignore[arg-type]
