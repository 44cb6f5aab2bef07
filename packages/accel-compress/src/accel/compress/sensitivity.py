"""Per-layer pruning sensitivity: prune one layer at a time and measure the damage on real data."""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from accel.compress.artifacts import is_program_module
from accel.compress.signature import Inputs, head
from accel.compress.verify import accuracy, drop_points, output_error
from accel.core.errors import ConfigError


def prunable_convs(model: nn.Module) -> list[str]:
    """Names of the convolutions whose output channels can be pruned (the head excluded)."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    return [n for n in names[:-1] if isinstance(model.get_submodule(n), nn.Conv2d)]


def prune_one(model: nn.Module, name: str, ratio: float, example: Inputs) -> bool:
    """Remove the `ratio` lowest-L1 output channels of layer `name` (and what depends on them)."""
    import torch_pruning as tp

    layer = model.get_submodule(name)
    assert isinstance(layer, nn.Conv2d)
    count = int(layer.out_channels * ratio)
    if count == 0 or count >= layer.out_channels:
        return False
    graph = tp.DependencyGraph().build_dependency(model, example_inputs=head(example, 1))
    order = layer.weight.detach().abs().sum(dim=(1, 2, 3)).argsort()
    group = graph.get_pruning_group(layer, tp.prune_conv_out_channels, idxs=order[:count].tolist())
    if not graph.check_pruning_group(group):
        return False
    group.prune()
    return True


def sensitivity(
    model: nn.Module,
    example: Inputs,
    *,
    inputs: list[Inputs],
    eval_data: Any = None,
    ratio: float = 0.5,
    max_layers: int = 16,
) -> list[dict[str, Any]]:
    """One row per layer: relative output error (and accuracy drop, with eval data) after
    pruning that layer alone."""
    if is_program_module(model):
        raise ConfigError(
            "sensitivity prunes layers, which needs the model's own Python class, not a "
            "torch.export program: pass a state dict with --arch NAME, or an accel checkpoint"
        )
    baseline = accuracy(model, eval_data) if eval_data is not None else None
    rows = []
    for name in prunable_convs(model)[:max_layers]:
        pruned = copy.deepcopy(model).eval()
        if not prune_one(pruned, name, ratio, example):
            rows.append({"layer": name, "ratio": ratio, "skipped": True})
            continue
        row: dict[str, Any] = {"layer": name, "ratio": ratio}
        row["output_error"] = output_error(model, pruned, inputs)
        if baseline is not None:
            row["accuracy_drop"] = drop_points(baseline, accuracy(pruned, eval_data))
        rows.append(row)
    return rows
