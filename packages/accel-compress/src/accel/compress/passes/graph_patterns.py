"""Reading conv / BatchNorm / sum patterns off a torch.fx graph, whatever the module classes.

A BatchNorm shows up in a traced graph either as a `call_module` of a torch.nn BatchNorm (a
leaf), or, inside a family's own module that fx traces through (timm's `BatchNormAct2d`, a
subclass calling `F.batch_norm`), as a `call_function` of `F.batch_norm` on `get_attr`
statistics. `Norm` describes both, so passes match the structure, not class names.
"""

from __future__ import annotations

import inspect
import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d)
CONV_TYPES = (nn.Conv1d, nn.Conv2d)
ADD_TARGETS = (operator.add, torch.add)
BATCH_NORM_SIGNATURE = inspect.signature(F.batch_norm)


@dataclass(frozen=True)
class Norm:
    """An eval-mode BatchNorm found in a graph: its statistics and the names they live at.

    `module` is the leaf BatchNorm's name, or None for a functional one whose tensors are at
    `tensor_names` (mean, var, weight or None, bias or None)."""

    mean: torch.Tensor
    var: torch.Tensor
    weight: torch.Tensor | None
    bias: torch.Tensor | None
    eps: float
    module: str | None
    tensor_names: tuple[str | None, ...]

    @property
    def key(self) -> str:
        """One name per BatchNorm: the module, else the running mean's qualified name."""
        return self.module or str(self.tensor_names[0])


def tensor_at(root: nn.Module, qualified: str) -> torch.Tensor:
    """The parameter or buffer at dotted path `qualified`."""
    owner, _, leaf = qualified.rpartition(".")
    value = getattr(root.get_submodule(owner) if owner else root, leaf)
    assert isinstance(value, torch.Tensor)
    return value


def module_of(graph: fx.GraphModule, node: object) -> nn.Module | None:
    """The module a `call_module` node calls, else None."""
    if not isinstance(node, fx.Node) or node.op != "call_module":
        return None
    return graph.get_submodule(str(node.target))


def simplify(graph: fx.GraphModule) -> fx.GraphModule:
    """Drop nodes that compute nothing (shape `torch._assert`s, `nn.Identity` calls), so a
    conv's only real user is its BatchNorm and branches meet their sum directly."""
    for node in list(graph.graph.nodes):
        if node.op == "call_function" and node.target is torch._assert:
            graph.graph.erase_node(node)
        elif isinstance(module_of(graph, node), nn.Identity) and len(node.args) == 1:
            source = node.args[0]
            if isinstance(source, fx.Node):
                node.replace_all_uses_with(source)
                graph.graph.erase_node(node)
    graph.graph.eliminate_dead_code()
    graph.recompile()
    return graph


def norm_of(graph: fx.GraphModule, node: fx.Node) -> Norm | None:
    """The eval-mode BatchNorm `node` computes (leaf module or `F.batch_norm`), else None."""
    module = module_of(graph, node)
    if isinstance(module, BN_TYPES):
        if module.training or module.running_mean is None or module.running_var is None:
            return None
        return Norm(
            module.running_mean,
            module.running_var,
            module.weight,
            module.bias,
            module.eps,
            str(node.target),
            (),
        )
    if node.op == "call_function" and node.target is F.batch_norm:
        return functional_norm(graph, node)
    return None


def functional_norm(graph: fx.GraphModule, node: fx.Node) -> Norm | None:
    """The `Norm` of an eval-mode `F.batch_norm` call whose tensors are module attributes."""
    try:
        bound = BATCH_NORM_SIGNATURE.bind(*node.args, **node.kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    values = [bound.arguments[k] for k in ("running_mean", "running_var", "weight", "bias")]
    if bound.arguments["training"] is not False or not isinstance(bound.arguments["eps"], float):
        return None
    names: list[str | None] = []
    for value in values:
        if value is not None and not (isinstance(value, fx.Node) and value.op == "get_attr"):
            return None
        names.append(None if value is None else str(value.target))
    tensors = [None if name is None else tensor_at(graph, name) for name in names]
    mean, var, weight, bias = tensors
    if mean is None or var is None:
        return None
    return Norm(mean, var, weight, bias, bound.arguments["eps"], None, tuple(names))


def norm_input(node: fx.Node) -> fx.Node | None:
    """The tensor a BatchNorm node normalizes (its first argument)."""
    source = node.args[0] if node.args else node.kwargs.get("input")
    return source if isinstance(source, fx.Node) else None


def call_counts(graph: fx.GraphModule) -> dict[str, int]:
    """How many nodes call each module, and how many BatchNorm calls use each `Norm.key`."""
    counts: dict[str, int] = {}
    for node in graph.graph.nodes:
        norm = norm_of(graph, node)
        key = norm.key if norm is not None else str(node.target)
        if norm is not None or node.op == "call_module":
            counts[key] = counts.get(key, 0) + 1
    return counts


def conv_source(graph: fx.GraphModule, node: fx.Node | None, counts: dict[str, int]) -> bool:
    """Whether `node` is a conv, called once, whose output nothing but its consumer reads."""
    return (
        node is not None
        and isinstance(module_of(graph, node), CONV_TYPES)
        and len(node.users) == 1
        and counts.get(str(node.target), 0) == 1
    )


def conv_norm_pairs(
    graph: fx.GraphModule,
) -> tuple[list[tuple[str, Norm]], list[Norm]]:
    """(conv name, its BatchNorm) where a BatchNorm, used once, reads only a conv's output;
    and the BatchNorms that do not (after other ops, or sharing their conv)."""
    counts = call_counts(graph)
    pairs: list[tuple[str, Norm]] = []
    alone: list[Norm] = []
    for node in graph.graph.nodes:
        norm = norm_of(graph, node)
        if norm is None:
            continue
        source = norm_input(node)
        if conv_source(graph, source, counts) and counts[norm.key] == 1:
            assert source is not None
            pairs.append((str(source.target), norm))
        else:
            alone.append(norm)
    return pairs, alone


def is_add(node: fx.Node) -> bool:
    """Whether `node` adds two tensors out of place (`a + b`, `torch.add`, `a.add(b)`)."""
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
