"""TorchEngine: device choice, precision, accumulation scaling, clipping, channels-last."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from accel.core.engines.torch_engine import TorchEngine, select_device
from accel.core.errors import ConfigError
from accel.core.registry import build


def test_auto_device_is_an_available_one() -> None:
    device = select_device("auto")
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert device.type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_lists_available_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"trainer\.device='cuda' is not available here; available: cpu"
    ):
        select_device("cuda")


def test_bad_device_name_lists_valid_names() -> None:
    with pytest.raises(
        ConfigError, match=r"trainer\.device='tpu' is not valid; use one of auto, cpu, cuda, mps"
    ):
        TorchEngine(device="tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is valid on CUDA")
def test_fp16_without_cuda_suggests_bf16() -> None:
    with pytest.raises(
        ConfigError, match=r"precision='16' needs CUDA \(device is cpu\); use 'bf16' or '32'"
    ):
        TorchEngine(device="cpu", precision="16")


def test_registered_as_torch_engine_with_options() -> None:
    engine = build("engines", {"name": "torch", "device": "cpu", "precision": "bf16"})
    assert isinstance(engine, TorchEngine)
    assert engine.options.precision == "bf16"


def test_bf16_autocast_runs_matmuls_in_bfloat16() -> None:
    engine = TorchEngine(device="cpu", precision="bf16")
    with engine.autocast():
        out = nn.Linear(4, 4)(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16
    with TorchEngine(device="cpu").autocast():
        assert nn.Linear(4, 4)(torch.randn(2, 4)).dtype == torch.float32


def test_backward_divides_the_loss_for_accumulation() -> None:
    weight = nn.Parameter(torch.ones(1))
    TorchEngine(device="cpu", accumulate_grad_batches=4).backward((weight * 8).sum())
    assert weight.grad is not None
    assert weight.grad.item() == 2.0


def test_step_clips_the_gradient_norm_then_zeroes_gradients() -> None:
    model = nn.Linear(3, 1, bias=False)
    nn.init.zeros_(model.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    model.weight.grad = torch.tensor([[30.0, 40.0, 0.0]])  # norm 50
    TorchEngine(device="cpu", clip_grad_norm=5.0).step(optimizer, model)
    assert torch.allclose(model.weight.detach(), torch.tensor([[-3.0, -4.0, 0.0]]), atol=1e-5)
    assert model.weight.grad is None


def test_to_device_moves_nested_batches_and_makes_images_channels_last() -> None:
    engine = TorchEngine(device="cpu", channels_last=True)
    batch = engine.to_device({"input": torch.randn(2, 3, 4, 4), "meta": [torch.zeros(2), "id"]})
    assert batch["input"].is_contiguous(memory_format=torch.channels_last)
    assert batch["meta"][1] == "id"
    model, _ = engine.setup(nn.Conv2d(3, 3, 1), None)
    assert model.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"accumulate_grad_batches": 0},
            r"trainer\.accumulate_grad_batches must be an int >= 1, got 0",
        ),
        (
            {"clip_grad_norm": "1"},
            r"trainer\.clip_grad_norm must be a number > 0 or null, got '1' \(str\)",
        ),
        ({"clip_grad_norm": -1.0}, r"clip_grad_norm must be a finite number > 0 .*got -1\.0"),
        ({"clip_grad_norm": float("nan")}, r"clip_grad_norm must be a finite number > 0 .*nan"),
        ({"clip_grad_norm": float("inf")}, r"clip_grad_norm must be a finite number > 0 .*inf"),
        ({"compile": "yes"}, r"trainer\.compile must be true or false, got 'yes' \(str\)"),
    ],
)
def test_bad_engine_options_are_one_line(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TorchEngine(device="cpu", **kwargs)  # type: ignore[arg-type]
