"""`fold_bn` and `merge_branches`: reparametrize a trained model into fewer, equal-output layers.

Both read the model's torch.fx graph (see `graph_patterns`), so they find conv → BatchNorm
and summed conv/identity branches whatever classes a model family builds them from
(torchvision's `Conv2dNormActivation`, timm's `ConvNormAct` / `BatchNormAct2d`, RepVGG blocks).
"""

from __future__ import annotations

import copy

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from accel.compress.artifacts import set_eval
from accel.compress.passes.graph_patterns import (
    Norm,
    add_leaves,
    call_counts,
    conv_norm_pairs,
    conv_source,
    is_add,
    module_of,
    norm_input,
    norm_of,
    simplify,
    tensor_at,
)
from accel.compress.passes.parity import record_parity
from accel.core.passes import PassContext, PassReport

NAMES_SHOWN = 5


def trace(model: nn.Module, context: PassContext, name: str) -> fx.GraphModule | None:
    """A simplified fx graph of `model`, or None with a skipped report when it cannot be
    traced (dynamic control flow etc.): the pass is skipped, never a crash."""
    try:
        return simplify(fx.symbolic_trace(model))
    except Exception as error:
        report = context.record(name, "skipped")
        report.notes.append(f"model is not traceable by torch.fx ({type(error).__name__}): skipped")
        return None


def set_module(root: nn.Module, qualified: str, module: nn.Module) -> None:
    """Replace the submodule at dotted path `qualified`."""
    parent_name, _, child = qualified.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


def fold_pair(root: nn.Module, conv_name: str, norm: Norm) -> None:
    """Fold `norm` into the conv at `conv_name` of `root`; a leaf BatchNorm becomes
    `nn.Identity`, a functional one (inside its family's own module) identity statistics."""
    conv = root.get_submodule(conv_name)
    assert isinstance(conv, nn.Conv1d | nn.Conv2d)
    fused = copy.deepcopy(conv)
    fused.weight, bias = fuse_conv_bn_weights(
        conv.weight, conv.bias, norm.mean, norm.var, norm.eps, norm.weight, norm.bias
    )
    fused.bias = bias
    set_module(root, conv_name, fused)
    if norm.module is not None:
        set_module(root, norm.module, nn.Identity())
    else:
        neutralize(root, norm)


@torch.no_grad()
def neutralize(root: nn.Module, norm: Norm) -> None:
    """Make a functional BatchNorm of `root` compute the identity (mean 0, var + eps = 1)."""
    mean, var, weight, bias = (
        None if name is None else tensor_at(root, name) for name in norm.tensor_names
    )
    assert mean is not None
    assert var is not None
    mean.zero_()
    var.fill_(1.0 - norm.eps)
    if weight is not None:
        weight.fill_(1.0)
    if bias is not None:
        bias.zero_()


def note_left_alone(report: PassReport, alone: list[Norm]) -> None:
    """Say which BatchNorms were not folded (they follow other ops, or share their conv)."""
    if not alone:
        return
    names = [norm.key.removesuffix(".running_mean") for norm in alone]
    shown = ", ".join(names[:NAMES_SHOWN]) + (", ..." if len(names) > NAMES_SHOWN else "")
    report.notes.append(
        f"{len(alone)} BatchNorm(s) left alone (not directly after a convolution, or that "
        f"convolution has other uses): {shown}"
    )


class FoldBN:
    """Fold each BatchNorm that follows a convolution into the convolution's weights.

    The model keeps its class and forward code: folded BatchNorm modules become
    `nn.Identity`; one computed inside a family's own module (timm's `BatchNormAct2d`) keeps
    its place with identity statistics, so that module's forward (its activation) still runs.
    """

    def __init__(self, tolerance: float | None = None) -> None:
        self.tolerance = tolerance

    def __call__(self, model: nn.Module, context: PassContext) -> nn.Module:
        graph = trace(set_eval(model), context, "fold_bn")
        if graph is None:
            return model
        pairs, alone = conv_norm_pairs(graph)
        folded = set_eval(copy.deepcopy(model))
        for conv_name, norm in pairs:
            fold_pair(folded, conv_name, norm)
        report = context.record("fold_bn", folded=len(pairs))
        if not pairs:
            report.status = "skipped"
            report.notes.append("no convolution followed by BatchNorm found")
            note_left_alone(report, alone)
            return model
        note_left_alone(report, alone)
        inner = sum(norm.module is None for _, norm in pairs)
        if inner:
            report.notes.append(
                f"{inner} BatchNorm(s) computed inside their own modules were folded and set "
                "to identity statistics (those modules stay)"
            )
        record_parity(report, model, folded, context, self.tolerance)
        return folded


class MergeBranches:
    """Merge parallel k×k, 1×1 and identity branches (RepVGG-style, each with optional BN)
    that are summed, into one k×k convolution. The result is a `torch.fx.GraphModule`; each
    merged conv takes the name of its block's k×k conv."""

    def __init__(self, tolerance: float | None = None) -> None:
        self.tolerance = tolerance

    def __call__(self, model: nn.Module, context: PassContext) -> nn.Module:
        graph = trace(set_eval(copy.deepcopy(model)), context, "merge_branches")
        if graph is None:
            return model
        merged = merge_all(graph)
        report = context.record("merge_branches", merged=merged)
        if not merged:
            report.status = "skipped"
            report.notes.append("no summed conv/identity branches found")
            return model
        graph.delete_all_unused_submodules()
        graph.recompile()
        record_parity(report, model, graph, context, self.tolerance)
        return graph


def merge_all(graph: fx.GraphModule) -> int:
    """Merge every sum of branches in `graph`, outermost sum first; how many were merged."""
    merged = 0
    live = set(graph.graph.nodes)
    for node in reversed(list(graph.graph.nodes)):
        if node in live and is_add(node) and merge_add(graph, node):
            merged += 1
            graph.graph.eliminate_dead_code()
            live = set(graph.graph.nodes)
    return merged


Branch = tuple[fx.Node, nn.Conv2d | None, Norm | None]


def branch_of(graph: fx.GraphModule, leaf: fx.Node, counts: dict[str, int]) -> Branch | None:
    """(input, conv or None for identity, BatchNorm or None) of one summed branch. A 2-d conv
    used only by this branch (its BatchNorm too) is the branch's conv: the merged conv takes
    its place. Anything else is the branch's input."""
    norm = norm_of(graph, leaf)
    source = norm_input(leaf) if norm is not None else leaf
    if source is None:
        return None
    conv = module_of(graph, source)
    entry = source.args[0] if source.args else None
    if (
        isinstance(conv, nn.Conv2d)
        and isinstance(entry, fx.Node)
        and conv_source(graph, source, counts)
        and len(leaf.users) == 1
    ):
        return entry, conv, norm
    return source, None, norm


def merge_add(graph: fx.GraphModule, node: fx.Node) -> bool:
    """Replace one sum of branches by a single conv; False when the pattern does not fit."""
    leaves = add_leaves(node)
    counts = call_counts(graph)
    branches = [branch_of(graph, leaf, counts) for leaf in leaves]
    if len(leaves) < 2 or any(b is None for b in branches):
        return False
    inputs = {b[0] for b in branches if b is not None}
    convs = [(leaf, b[1]) for leaf, b in zip(leaves, branches, strict=True) if b and b[1]]
    if len(inputs) != 1 or not convs:
        return False
    if not compatible([conv for _, conv in convs], len(convs) < len(branches)):
        return False
    largest_leaf, largest = max(convs, key=lambda item: item[1].kernel_size[0])
    merged = merged_conv(largest, [(b[1], b[2]) for b in branches if b is not None])
    name = conv_name(graph, largest_leaf)
    graph.add_submodule(name, merged)  # in the place of the block's k×k conv
    with graph.graph.inserting_before(node):
        new = graph.graph.call_module(name, (next(iter(inputs)),))
    node.replace_all_uses_with(new)
    return True


def conv_name(graph: fx.GraphModule, leaf: fx.Node) -> str:
    """The name of the conv a branch's leaf (the conv, or its BatchNorm) computes from."""
    conv_node = norm_input(leaf) if norm_of(graph, leaf) is not None else leaf
    assert conv_node is not None
    return str(conv_node.target)


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


def merged_conv(
    template: nn.Conv2d, branches: list[tuple[nn.Conv2d | None, Norm | None]]
) -> nn.Conv2d:
    """One conv whose weights are the sum of every branch's (BN-folded, centre-padded) weights."""
    size = template.kernel_size[0]
    merged = nn.Conv2d(
        template.in_channels,
        template.out_channels,
        size,
        stride=(template.stride[0], template.stride[1]),
        padding=size // 2,
        groups=template.groups,
        bias=True,
        device=template.weight.device,
        dtype=template.weight.dtype,
    )
    assert merged.bias is not None
    with torch.no_grad():
        merged.weight.zero_()
        merged.bias.zero_()
        for conv, norm in branches:
            weight, bias = branch_kernel(template, conv, norm)
            merged.weight += weight
            merged.bias += bias
    return merged


def branch_kernel(
    template: nn.Conv2d, conv: nn.Conv2d | None, norm: Norm | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (weight, bias) of one branch as a conv of `template`'s (largest) kernel size."""
    size = template.kernel_size[0]
    out, per_group = template.out_channels, template.in_channels // template.groups
    like = template.weight.detach()
    if conv is None:  # identity: a centred one per channel within its group
        weight = torch.zeros_like(like)
        for channel in range(out):
            weight[channel, channel % per_group, size // 2, size // 2] = 1.0
        bias = like.new_zeros(out)
    else:
        pad = (size - conv.kernel_size[0]) // 2
        weight = nn.functional.pad(conv.weight.detach(), [pad] * 4)
        bias = conv.bias.detach() if conv.bias is not None else like.new_zeros(out)
    if norm is None:
        return weight, bias
    scale = (norm.weight if norm.weight is not None else 1.0) / (norm.var + norm.eps).sqrt()
    shift = norm.bias if norm.bias is not None else 0.0
    return weight * scale.reshape(-1, 1, 1, 1), shift + (bias - norm.mean) * scale
