"""Accuracy of a pipeline artifact; a `.pt2` is opened through accel-core's checked loader."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from accel.cli.pipeline.evaluate import accuracy
from accel.core.trust import UntrustedFileError


def batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(32, 1, 8, 8, generator=generator)
    return [(x[:16], (x[:16].mean(dim=(1, 2, 3)) > 0.5).long()), (x[16:], torch.zeros(16).long())]


def test_pt2_accuracy_matches_the_torch_model(tmp_path: Path, workdir: Path) -> None:
    from accel_cli_testkit import TinyNet

    model = TinyNet(1, 2).eval()
    batch = torch.export.Dim("batch")
    program = torch.export.export(model, (torch.rand(2, 1, 8, 8),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(tmp_path / "m.pt2"))
    with torch.no_grad():
        correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in batches())
    record = {"format": "pt2", "path": str(tmp_path / "m.pt2")}
    assert accuracy(record, batches(), "export") == correct / 32


def test_a_pt2_that_is_not_an_archive_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "m.pt2").write_text("not a zip")
    with pytest.raises(UntrustedFileError, match=r"m.pt2"):
        accuracy({"format": "pt2", "path": str(tmp_path / "m.pt2")}, batches(), "export")
