"""Programs exported with keyword inputs run positionally, in their recorded input order."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from accel.core.inference import open_program, predictor
from accel.core.program_module import KeywordProgram, program_module


class Scaled(nn.Module):
    """Two inputs whose roles differ, so swapping them changes the output."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * scale


class Cached(Scaled):
    """A flag beside the tensors, as transformers' `use_cache`: torch.export records it as a
    constant, and the program's module then requires it."""

    def forward(self, x: torch.Tensor, scale: torch.Tensor, use_cache: bool = True) -> torch.Tensor:
        return self.linear(x) * (scale if use_cache else -scale)


def saved(tmp_path: Path, args: tuple[torch.Tensor, ...], kwargs: dict[str, torch.Tensor]) -> Path:
    program = torch.export.export(Scaled().eval(), args, kwargs)
    torch.export.save(program, str(tmp_path / "m.pt2"))
    return tmp_path / "m.pt2"


def test_a_keyword_program_is_called_in_its_recorded_order(tmp_path: Path) -> None:
    torch.manual_seed(0)
    x, scale = torch.randn(4, 3), torch.rand(4, 1) + 1
    program = open_program(saved(tmp_path, (), {"x": x, "scale": scale}))
    module = program_module(program)
    assert isinstance(module, KeywordProgram)
    assert module.keywords == ("x", "scale")
    assert [n.name for n in module.graph.nodes if n.op == "placeholder"] == ["x", "scale"]
    torch.testing.assert_close(module(x, scale), program.module()(x=x, scale=scale))
    assert module.eval() is module  # inference-only, like a program's own module
    torch.testing.assert_close(predictor(tmp_path / "m.pt2")((x, scale)), module(x, scale))


def test_a_mixed_program_takes_its_positional_inputs_first(tmp_path: Path) -> None:
    x, scale = torch.randn(4, 3), torch.rand(4, 1) + 1
    program = open_program(saved(tmp_path, (x,), {"scale": scale}))
    module = program_module(program)
    assert isinstance(module, KeywordProgram)
    assert (module.positional, module.keywords) == (1, ("scale",))
    torch.testing.assert_close(module(x, scale), program.module()(x, scale=scale))


def test_a_positional_program_is_its_own_module(tmp_path: Path) -> None:
    x, scale = torch.randn(4, 3), torch.rand(4, 1)
    program = open_program(saved(tmp_path, (x, scale), {}))
    assert not isinstance(program_module(program), KeywordProgram)


def test_a_keyword_recorded_as_a_constant_is_passed_for_the_caller(tmp_path: Path) -> None:
    torch.manual_seed(0)
    x, scale = torch.randn(4, 3), torch.rand(4, 1) + 1
    model = Cached().eval()
    exported = torch.export.export(model, (), {"x": x, "scale": scale, "use_cache": False})
    torch.export.save(exported, str(tmp_path / "m.pt2"))
    program = open_program(tmp_path / "m.pt2")
    module = program_module(program)
    assert isinstance(module, KeywordProgram)
    assert (module.keywords, module.constants, module.names) == (
        ("x", "scale"), {"use_cache": False}, ("x", "scale")
    )  # fmt: skip
    torch.testing.assert_close(module(x, scale), model(x, scale, use_cache=False))
