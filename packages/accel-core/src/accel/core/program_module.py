"""A loaded `torch.export` program as a module called with positional inputs.

Hugging Face models are usually exported with keyword inputs
(`torch.export.export(model, (), {"input_ids": ids, "attention_mask": mask})`); the program's
module then refuses to be called positionally ("kwarg keyword mismatch"). Every runner, data
reader and exporter in accel feeds a model its inputs in the order its signature records, so
such a module is wrapped: the inputs it was exported with positionally come first, then the
keyword ones in the order they were given at export (the order of the graph's placeholders).
Keywords the program recorded as constants (`use_cache=False`: torch.export specializes a
non-tensor input, and the module then insists on being passed it) are passed for the caller.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class KeywordProgram(nn.Module):
    """A keyword-input program's module, called with its inputs in recorded order.

    `graph` is the program's own graph (its placeholders, their names and recorded shapes),
    so code that reads a program's signature reads this module the same way. `keywords` are
    the tensor inputs given by keyword; `constants` the keywords fixed at export, with their
    values.
    """

    def __init__(
        self,
        *,
        program: nn.Module,
        positional: int,
        keywords: tuple[str, ...],
        constants: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.program = program
        self.positional, self.keywords = positional, keywords
        self.constants = dict(constants or {})

    @property
    def graph(self) -> torch.fx.Graph:
        graph: torch.fx.Graph = self.program.graph  # type: ignore[assignment]
        return graph

    def train(self, mode: bool = True) -> KeywordProgram:
        """A no-op: a program is inference-only already and its module refuses `.eval()`."""
        return self

    def forward(self, *inputs: Any) -> Any:
        expected = self.positional + len(self.keywords)
        if len(inputs) != expected:
            raise TypeError(
                f"the program takes {expected} input(s) "
                f"({', '.join(self.names)}), got {len(inputs)}"
            )
        named = dict(zip(self.keywords, inputs[self.positional :], strict=True))
        return self.program(*inputs[: self.positional], **named, **self.constants)

    @property
    def names(self) -> tuple[str, ...]:
        """The inputs' names: placeholders for the positional ones, then the keywords."""
        placeholders = [n.name for n in self.graph.nodes if n.op == "placeholder"]
        return (*placeholders[: self.positional], *self.keywords)


def program_module(program: Any) -> nn.Module:
    """`program.module()`, wrapped in `KeywordProgram` when the program was exported with
    keyword inputs (a program that takes positional inputs only is returned as it is)."""
    module: nn.Module = program.module()
    in_spec = getattr(getattr(program, "call_spec", None), "in_spec", None)
    if in_spec is None or in_spec.num_children != 2:
        return module
    args_spec, kwargs_spec = in_spec.children()
    keywords = tuple(kwargs_spec.context or ())
    if not keywords:
        return module
    constants = keyword_constants(program, args_spec.num_children, keywords)
    return KeywordProgram(
        program=module,
        positional=args_spec.num_children,
        keywords=tuple(k for k in keywords if k not in constants),
        constants=constants,
    )


def keyword_constants(program: Any, positional: int, keywords: tuple[str, ...]) -> dict[str, Any]:
    """The keyword inputs a program recorded as constants (bool, number, string, None: values
    from the archive's JSON, never code), by name."""
    from torch.export.graph_signature import ConstantArgument, InputKind

    specs = [s for s in program.graph_signature.input_specs if s.kind == InputKind.USER_INPUT]
    if len(specs) != positional + len(keywords):
        return {}  # nested inputs: one keyword is several specs; nothing to fill in
    pairs = zip(keywords, specs[positional:], strict=True)
    return {k: s.arg.value for k, s in pairs if isinstance(s.arg, ConstantArgument)}


def is_keyword_program(model: Any) -> bool:
    return isinstance(model, KeywordProgram)
