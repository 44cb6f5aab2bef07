"""`fold_bn` and `merge_branches`: reparametrize a trained model into fewer, equal-output layers."""

from __future__ import annotations

import copy
import operator
from typing import Any

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from accel.compress.artifacts import set_eval
from accel.compress.passes.parity import record_parity
from accel.core.passes import PassContext

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d)
ADD_TARGETS = (operator.add, torch.add)


def trace(model: nn.Module, context: PassContext, name: str) -> fx.GraphModule | None:
    """An fx graph of `model`, or None with a skipped report when it cannot be traced."""
    try:
        return fx.symbolic_trace(model)
    except Exception as error:  # dynamic control flow etc.: skip the pass, never crash
        report = context.record(name, "skipped")
        report.notes.append(f"model is not traceable by torch.fx ({type(error).__name__}): skipped")
        return None


def set_module(root: nn.Module, qualified: str, module: nn.Module) -> None:
    """Replace the submodule at dotted path `qualified`."""
    parent_name, _, child = qualified.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


def conv_bn_pairs(graph: fx.GraphModule) -> list[tuple[str, str]]:
    """(conv, bn) module names where a BN reads only a conv's output and each is called once."""
    modules = dict(graph.named_modules())
    calls: dict[str, int] = {}
    for node in graph.graph.nodes:
        if node.op == "call_module":
            calls[str(node.target)] = calls.get(str(node.target), 0) + 1
    pairs = []
    for node in graph.graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], BN_TYPES):
            continue
        source = node.args[0]
        if not isinstance(source, fx.Node) or source.op != "call_module":
            continue
        conv = modules[source.target]
        if not isinstance(conv, nn.Conv1d | nn.Conv2d) or len(source.users) != 1:
            continue
        if calls[str(source.target)] == 1 and calls[str(node.target)] == 1:
            pairs.append((str(source.target), str(node.target)))
    return pairs


class FoldBN:
    """Fold each BatchNorm that follows a convolution into the convolution's weights.

    The model keeps its class and forward code: folded BatchNorms become `nn.Identity`.
    """

    def __init__(self, tolerance: float | None = None) -> None:
        self.tolerance = tolerance

    def __call__(self, model: nn.Module, context: PassContext) -> nn.Module:
        graph = trace(set_eval(model), context, "fold_bn")
        if graph is None:
            return model
        folded = set_eval(copy.deepcopy(model))
        pairs = conv_bn_pairs(graph)
        for conv_name, bn_name in pairs:
            conv = folded.get_submodule(conv_name)
            bn = folded.get_submodule(bn_name)
            assert isinstance(conv, nn.Conv1d | nn.Conv2d)
            assert isinstance(bn, BN_TYPES)
            set_module(folded, conv_name, fuse_conv_bn_eval(conv, bn))
            set_module(folded, bn_name, nn.Identity())
        report = context.record("fold_bn", folded=len(pairs))
        if not pairs:
            report.status = "skipped"
            report.notes.append("no convolution followed by BatchNorm found")
            return model
        record_parity(report, model, folded, context, self.tolerance)
        return folded


class MergeBranches:
    """Merge parallel k×k, 1×1 and identity branches (RepVGG-style, each with optional BN)
    that are summed, into one k×k convolution. The result is a `torch.fx.GraphModule`."""

    def __init__(self, tolerance: float | None = None) -> None:
        self.tolerance = tolerance

    def __call__(self, model: nn.Module, context: PassContext) -> nn.Module:
        graph = trace(set_eval(copy.deepcopy(model)), context, "merge_branches")
        if graph is None:
            return model
        merged = 0
        for node in reversed(list(graph.graph.nodes)):  # outermost sum first
            live = set(graph.graph.nodes)
            if node in live and is_add(node) and merge_add(graph, node, merged):
                merged += 1
                graph.graph.eliminate_dead_code()
        report = context.record("merge_branches", merged=merged)
        if not merged:
            report.status = "skipped"
            report.notes.append("no summed conv/identity branches found")
            return model
        graph.graph.eliminate_dead_code()
        graph.delete_all_unused_submodules()
        graph.recompile()
        record_parity(report, model, graph, context, self.tolerance)
        return graph


def is_add(node: fx.Node) -> bool:
    return (node.op == "call_function" and node.target in ADD_TARGETS) or (
        node.op == "call_method" and node.target == "add"
    )


def add_leaves(node: fx.Node) -> list[fx.Node]:
    """The summed operands of a tree of two-operand adds (inner adds used only once)."""
    if len(node.args) != 2 or node.kwargs:
        return []
    leaves = []
    for arg in node.args:
        if not isinstance(arg, fx.Node):
            return []
        if is_add(arg) and len(arg.users) == 1:
            inner = add_leaves(arg)
            if not inner:
                return []
            leaves += inner
        else:
            leaves.append(arg)
    return leaves


def branch_of(graph: fx.GraphModule, leaf: fx.Node) -> tuple[fx.Node, Any, Any] | None:
    """(input, conv or None for identity, bn or None) of one branch, or None if not a branch."""
    modules = dict(graph.named_modules())
    module = modules.get(str(leaf.target)) if leaf.op == "call_module" else None
    if isinstance(module, nn.Conv2d):
        return leaf.args[0], module, None  # type: ignore[return-value]
    if isinstance(module, nn.BatchNorm2d):
        source = leaf.args[0]
        if not isinstance(source, fx.Node):
            return None
        inner = modules.get(str(source.target)) if source.op == "call_module" else None
        if isinstance(inner, nn.Conv2d) and len(source.users) == 1:
            return source.args[0], inner, module  # type: ignore[return-value]
        return source, None, module
    return leaf, None, None


def merge_add(graph: fx.GraphModule, node: fx.Node, index: int) -> bool:
    """Replace one sum of branches by a single conv; False when the pattern does not fit."""
    leaves = add_leaves(node)
    branches = [branch_of(graph, leaf) for leaf in leaves]
    if len(leaves) < 2 or any(b is None for b in branches):
        return False
    inputs = {b[0] for b in branches if b is not None}
    convs = [b[1] for b in branches if b is not None and b[1] is not None]
    if len(inputs) != 1 or not convs or not compatible(convs, len(convs) < len(branches)):
        return False
    merged = merged_conv(convs[0], [(b[1], b[2]) for b in branches if b is not None])
    name = f"merged_branch_{index}"
    graph.add_submodule(name, merged)
    with graph.graph.inserting_before(node):
        new = graph.graph.call_module(name, (next(iter(inputs)),))
    node.replace_all_uses_with(new)
    return True


def compatible(convs: list[nn.Conv2d], has_identity: bool) -> bool:
    """Branches can merge: same stride/groups/channels, centred zero padding, no dilation."""
    first = convs[0]
    for conv in convs:
        k = conv.kernel_size
        if (conv.stride, conv.groups, conv.out_channels, conv.in_channels) != (
            first.stride,
            first.groups,
            first.out_channels,
            first.in_channels,
        ):
            return False
        if conv.dilation != (1, 1) or conv.padding_mode != "zeros" or k[0] != k[1]:
            return False
        if conv.padding != (k[0] // 2, k[1] // 2) or k[0] % 2 == 0:
            return False
    if has_identity:
        return first.stride == (1, 1) and first.in_channels == first.out_channels
    return True


def merged_conv(template: nn.Conv2d, branches: list[tuple[Any, Any]]) -> nn.Conv2d:
    """One conv whose weights are the sum of every branch's (BN-folded, centre-padded) weights."""
    size = max(c.kernel_size[0] for c, _ in branches if c is not None)
    weight = torch.zeros(template.out_channels, template.in_channels // template.groups, size, size)
    bias = torch.zeros(template.out_channels)
    for conv, bn in branches:
        w, b = branch_kernel(template, conv, bn, size)
        weight += w
        bias += b
    merged = nn.Conv2d(
        template.in_channels,
        template.out_channels,
        size,
        stride=(template.stride[0], template.stride[1]),
        padding=size // 2,
        groups=template.groups,
        bias=True,
    )
    merged.weight.data.copy_(weight)
    assert merged.bias is not None
    merged.bias.data.copy_(bias)
    return merged


def branch_kernel(
    template: nn.Conv2d, conv: nn.Conv2d | None, bn: nn.BatchNorm2d | None, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (weight, bias) of one branch as a size×size conv."""
    out, per_group = template.out_channels, template.in_channels // template.groups
    if conv is None:  # identity: a centred one per channel within its group
        weight = torch.zeros(out, per_group, size, size)
        for channel in range(out):
            weight[channel, channel % per_group, size // 2, size // 2] = 1.0
        bias = torch.zeros(out)
    else:
        pad = (size - conv.kernel_size[0]) // 2
        weight = nn.functional.pad(conv.weight.detach(), [pad] * 4)
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(out)
    if bn is None:
        return weight, bias
    assert bn.running_mean is not None
    assert bn.running_var is not None
    std = (bn.running_var + bn.eps).sqrt()
    gamma = bn.weight.detach() if bn.weight is not None else torch.ones(out)
    beta = bn.bias.detach() if bn.bias is not None else torch.zeros(out)
    scale = gamma / std
    return weight * scale.reshape(-1, 1, 1, 1), beta + (bias - bn.running_mean) * scale
