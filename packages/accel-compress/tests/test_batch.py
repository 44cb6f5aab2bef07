"""The batch sizes a loaded torch.export program accepts, and the sizes accel runs it at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from compress_models import Tiny

from accel.compress.batch import (
    BatchPlan,
    BatchRange,
    analysis_batch,
    batch_plan,
    batch_range,
    check_batches,
)
from accel.compress.loading import load_model
from accel.core.errors import ConfigError


def saved_program(tmp_path: Path, batch: int, dynamic: Any = None) -> Any:
    """Tiny exported at `batch` (dynamic_shapes `dynamic`), saved and loaded back."""
    x = torch.rand(batch, 1, 8, 8)
    shapes = None if dynamic is None else ({0: dynamic},)
    program = torch.export.export(Tiny().eval(), (x,), dynamic_shapes=shapes)
    torch.export.save(program, str(tmp_path / "model.pt2"))
    return load_model(tmp_path / "model.pt2")


def test_a_static_export_is_run_at_its_own_batch(tmp_path: Path) -> None:
    model = saved_program(tmp_path, 4)
    assert batch_range(model) == BatchRange(4, 4)
    plan = batch_plan(model)
    assert plan.batches == (4,)
    assert plan.data == 4
    assert plan.exact
    assert plan.keeps(4)
    assert not plan.keeps(3)
    assert plan.note == "a static program: measured and served at batch 4"
    assert analysis_batch(model) == 4


def test_a_dynamic_batch_runs_at_1_and_32(tmp_path: Path) -> None:
    model = saved_program(tmp_path, 2, torch.export.Dim("batch", min=1))
    assert batch_range(model) == BatchRange(1, None)
    assert batch_plan(model) == BatchPlan(batches=(1, 32), limits=BatchRange(1, None))
    assert analysis_batch(model) is None


def test_min_two_still_runs_at_one(tmp_path: Path) -> None:
    model = saved_program(tmp_path, 4, torch.export.Dim("batch", min=2))
    assert batch_range(model) == BatchRange(2, None)
    assert batch_plan(model).batches == (1, 32)
    assert model(torch.rand(1, 1, 8, 8)).shape == (1, 10)  # what `accepts(1)` relies on


def test_an_upper_bound_below_32_is_measured_at_its_bound(tmp_path: Path) -> None:
    model = saved_program(tmp_path, 4, torch.export.Dim("batch", min=1, max=8))
    assert batch_range(model) == BatchRange(1, 8)
    plan = batch_plan(model)
    assert plan.batches == (1, 8)
    assert plan.data == 8
    assert plan.keeps(5)
    assert not plan.keeps(9)
    assert plan.note == "a program taking batch sizes 1 to 8: measured at batch 1 and 8"
    with pytest.raises(ConfigError, match=r"analysis.batches \[1, 32\]: m.pt2 is a torch.export "):
        check_batches(plan, [1, 32], "m.pt2", "analysis.batches")
    check_batches(plan, [2, 8], "m.pt2", "analysis.batches")


def test_a_plain_module_has_no_batch_range() -> None:
    assert batch_range(Tiny()) is None
    assert batch_plan(Tiny()) == BatchPlan()
