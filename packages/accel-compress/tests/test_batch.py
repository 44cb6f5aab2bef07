"""The batch sizes a loaded torch.export program accepts, read from its recorded input shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from compress_models import Tiny

from accel.compress.batch import BatchRange, analysis_batch, batch_range, check_dynamic
from accel.compress.loading import load_model
from accel.core.errors import ConfigError


def saved_program(tmp_path: Path, batch: int, dynamic: Any = None) -> Any:
    """Tiny exported at `batch` (dynamic_shapes `dynamic`), saved and loaded back."""
    x = torch.rand(batch, 1, 8, 8)
    shapes = None if dynamic is None else ({0: dynamic},)
    program = torch.export.export(Tiny().eval(), (x,), dynamic_shapes=shapes)
    torch.export.save(program, str(tmp_path / "model.pt2"))
    return load_model(tmp_path / "model.pt2")


def test_a_static_export_has_a_fixed_batch(tmp_path: Path) -> None:
    model = saved_program(tmp_path, 1)
    assert batch_range(model) == BatchRange(1, 1)
    expected = r"model.pt2 is a torch.export program with a fixed batch of 1; .* dynamic_shapes="
    with pytest.raises(ConfigError, match=expected + r"\(\{0: torch.export.Dim\('batch'\)\},\)"):
        check_dynamic(model, tmp_path / "model.pt2")
    assert analysis_batch(model) == 1


def test_a_static_batch_of_four_is_analyzed_at_four(tmp_path: Path) -> None:
    model = saved_program(tmp_path, 4)
    assert analysis_batch(model) == 4
    with pytest.raises(ConfigError, match="a fixed batch of 4"):
        check_dynamic(model, "model.pt2")


def test_a_dynamic_batch_passes(tmp_path: Path) -> None:
    model = saved_program(tmp_path, 2, torch.export.Dim("batch", min=1))
    assert batch_range(model) == BatchRange(1, None)
    check_dynamic(model, "model.pt2")
    assert analysis_batch(model) is None


def test_min_two_still_runs_at_one_and_passes(tmp_path: Path) -> None:
    model = saved_program(tmp_path, 4, torch.export.Dim("batch", min=2))
    assert batch_range(model) == BatchRange(2, None)
    check_dynamic(model, "model.pt2")
    assert model(torch.rand(1, 1, 8, 8)).shape == (1, 10)  # what `accepts(1)` relies on


def test_an_upper_bound_below_32_is_refused(tmp_path: Path) -> None:
    model = saved_program(tmp_path, 4, torch.export.Dim("batch", min=1, max=8))
    assert batch_range(model) == BatchRange(1, 8)
    with pytest.raises(ConfigError, match="batch sizes 1 to 8; accel compress runs it at batch"):
        check_dynamic(model, "model.pt2")
    assert analysis_batch(model) == 1


def test_a_plain_module_has_no_batch_range() -> None:
    assert batch_range(Tiny()) is None
    check_dynamic(Tiny(), "model.pt")
