"""Check that no activation module is called twice in one forward pass."""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.LeakyReLU)


def activation_calls(model: nn.Module, example: torch.Tensor) -> Counter[str]:
    """How often each activation module ran during one forward of `example`."""
    calls: Counter[str] = Counter()
    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: calls.update([name]))
        for name, module in model.named_modules()
        if isinstance(module, ACTIVATIONS)
    ]
    model.eval()
    with torch.no_grad():
        model(example)
    for handle in handles:
        handle.remove()
    return calls


def assert_activations_used_once(model: nn.Module, example: torch.Tensor) -> None:
    calls = activation_calls(model, example)
    assert calls, "the model has no activation modules"
    reused = {name: n for name, n in calls.items() if n > 1}
    assert not reused, f"activation modules used more than once: {reused}"
