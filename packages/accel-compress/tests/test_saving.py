"""A model that describes its input columns gets them written beside its exported file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnxruntime as ort
import torch
from torch import nn

from accel.compress import compress
from accel.core.records import encode_records, record_format

COLUMNS: dict[str, Any] = {
    "version": 1,
    "columns": [
        {"name": "height", "kind": "numeric", "nullable": True, "min": 0.0, "max": 3.0},
        {"name": "colour", "kind": "categorical", "categories": ["blue", "red"]},
    ],
    "output": {"task": "regression", "name": "weight"},
}


class Rows(nn.Module):
    """Reads (height, colour code) rows, a missing height read as 1."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.nan_to_num(x, nan=1.0)).squeeze(-1)

    def input_columns(self) -> dict[str, Any]:
        return COLUMNS


def test_columns_json_travels_with_the_onnx_of_a_model_fed_named_columns(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Rows().eval()
    result = compress(model, torch.randn(4, 2), output_dir=tmp_path / "out", export="onnx")
    assert result.report["outputs"]["columns"] == "columns.json"
    written = json.loads((tmp_path / "out" / "columns.json").read_text())
    assert written == record_format(COLUMNS).as_dict()  # checked, every key spelled out
    rows = [{"height": 1.5, "colour": "red"}, {"height": None, "colour": "blue"}]
    x = encode_records(rows, written)
    session = ort.InferenceSession(
        str(tmp_path / "out" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    [name] = [i.name for i in session.get_inputs()]
    served = session.run(None, {name: x.numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(served), model(x), rtol=1e-5, atol=1e-6)


def test_a_model_without_columns_writes_no_columns_file(tmp_path: Path) -> None:
    result = compress(nn.Linear(3, 2), torch.randn(4, 3), output_dir=tmp_path / "o", export="onnx")
    assert "columns" not in result.report["outputs"]
    assert not (tmp_path / "o" / "columns.json").exists()
