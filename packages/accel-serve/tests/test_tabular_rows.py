"""`POST /predict` rows for a model that describes its input columns (accel-core's record
format, as an accel-tabular model or an `accel compress` folder's `columns.json` carries it):
raw JSON values are encoded by `accel.core.records`, exactly as the training rows were."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from serve_helpers import Server, export, start_server
from torch import nn

from accel.core.protocols import input_columns_of
from accel.core.records import encode_records
from accel.serve.errors import ModelLoadError, ServeError
from accel.serve.preprocessing import check_fits, derive, read_card, tabular_rows
from accel.serve.tensors import TensorSpec

CLASSES = ["apple", "pear", "plum"]


def columns(task: str) -> dict[str, Any]:
    output: dict[str, Any] = {"task": task, "name": "fruit" if task != "regression" else "price"}
    if task == "classification":
        output["classes"] = CLASSES
    return {
        "version": 1,
        "columns": [
            {"name": "size", "kind": "numeric", "nullable": True, "min": 0.0, "max": 30.0},
            {"name": "colour", "kind": "categorical", "categories": ["blue", "green", "red"]},
            {"name": "fresh", "kind": "boolean"},
        ],
        "output": output,
    }


class Fruit(nn.Module):
    """Encoded (size, colour code, fresh) rows -> 3 logits, or a price (N,): a missing size
    is read as 10, the colour one-hot encoded, as a tabular model does inside."""

    def __init__(self, task: str) -> None:
        super().__init__()
        self.task = task
        self.linear = nn.Linear(5, 3 if task == "classification" else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = torch.nan_to_num(x[:, :1], nan=10.0) / 10
        colour = (x[:, 1:2] == torch.arange(3, dtype=x.dtype)).to(x.dtype)
        out = self.linear(torch.cat([size, colour, x[:, 2:3]], dim=1))
        return out if self.task == "classification" else out.squeeze(-1)

    def input_columns(self) -> dict[str, Any]:
        return columns(self.task)


ROWS: list[Any] = [
    {"size": 12.5, "colour": "red", "fresh": True},
    {"size": None, "colour": "blue", "fresh": "no"},
    {"colour": "green", "fresh": 1, "size": "4"},
    [20, "red", False],
]


def save_folder(model: Fruit, folder: Path) -> Path:
    """The model as ONNX with its columns beside it, as `accel compress` writes them."""
    export(model, (torch.zeros(2, 3),), folder / "model.onnx", ["input"])
    described = input_columns_of(model)
    (folder / "columns.json").write_text(json.dumps(described))
    return folder


def test_rows_are_encoded_with_the_models_columns() -> None:
    inputs = (TensorSpec(name="input", datatype="FP32", shape=(None, 3)),)
    prep = derive(inputs, {"columns": columns("classification")})
    assert prep.kind == "tabular"
    assert prep.feature_names == ("size", "colour", "fresh")
    assert prep.labels == tuple(CLASSES)
    batch = tabular_rows(prep, {"rows": ROWS})
    expected = encode_records(ROWS, columns("classification")).numpy()
    np.testing.assert_array_equal(batch, expected)
    assert np.isnan(batch[1, 0])
    assert batch[1, 1:].tolist() == [0.0, 0.0]
    assert prep.describe()["columns"]["output"]["classes"] == CLASSES


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([ROWS[0], {"size": 1, "colour": "pink", "fresh": 1}], r"row 2, column 'colour': 'pink'"),
        ([{"size": 99, "colour": "red", "fresh": 1}], r"row 1, column 'size': 99 is outside"),
        ([{"size": 1, "colour": "red"}], r"row 1, column 'fresh': missing"),
        ([{"size": 1, "colour": "red", "fresh": 1, "weight": 3}], "unknown column 'weight'"),
        ([[1, "red"]], "row 1: expected 3 values"),
    ],
)
def test_a_bad_row_is_a_422_naming_its_row_and_column(rows: list[Any], message: str) -> None:
    inputs = (TensorSpec(name="input", datatype="FP32", shape=(None, 3)),)
    prep = derive(inputs, {"columns": columns("classification")})
    with pytest.raises(ServeError, match=message) as caught:
        tabular_rows(prep, rows)
    assert caught.value.status == 422


def test_columns_json_is_read_beside_the_model_and_checked(tmp_path: Path) -> None:
    (tmp_path / "columns.json").write_text(json.dumps(columns("regression")))
    inputs = (TensorSpec(name="input", datatype="FP32", shape=(None, 3)),)
    prep = derive(inputs, read_card(tmp_path), source=str(tmp_path))
    assert prep.columns is not None
    assert prep.labels is None
    wide = (TensorSpec(name="input", datatype="FP32", shape=(None, 4)),)
    with pytest.raises(ModelLoadError, match=r"columns\.json names 3 columns, the model takes 4"):
        check_fits(derive(wide, read_card(tmp_path)), (), str(tmp_path))
    bad = columns("regression")
    bad["columns"][1]["kind"] = "text"
    (tmp_path / "columns.json").write_text(json.dumps(bad))
    with pytest.raises(ModelLoadError, match=r"columns\[1\]: column 'colour': kind 'text'"):
        derive(inputs, read_card(tmp_path), source=str(tmp_path / "columns.json"))
    (tmp_path / "columns.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"columns\.json is not JSON"):
        read_card(tmp_path)


@pytest.fixture(scope="module")
def fruit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict]]:
    root = tmp_path_factory.mktemp("fruit")
    torch.manual_seed(0)
    models = {task: Fruit(task).eval() for task in ("classification", "regression")}
    kinds = save_folder(models["classification"], root / "kinds")
    price = save_folder(models["regression"], root / "price")
    running = start_server([str(kinds), str(price), "--no-access-log"], root / "server.log")
    yield running, models
    running.stop()


@pytest.mark.slow
def test_predict_rows_match_the_model_on_encoded_rows(fruit_server: tuple[Server, dict]) -> None:
    server, models = fruit_server
    x = encode_records(ROWS, columns("classification"))
    with server.client() as client:
        kinds = client.post("/predict?model=kinds&top_k=2", json={"rows": ROWS})
        price = client.post("/predict?model=price", json=ROWS)  # the bare list works too
        bad = client.post(
            "/predict?model=kinds", json={"rows": [{"size": 1, "colour": "x", "fresh": 0}]}
        )
        meta = client.get("/v2/models/kinds").json()
    assert kinds.status_code == 200, kinds.text
    with torch.no_grad():
        logits = models["classification"](x)
        values = models["regression"](x)
    found = kinds.json()["predictions"]
    assert [[p["label"] for p in row] for row in found] == [
        [CLASSES[i] for i in row] for row in logits.argsort(1, descending=True)[:, :2].tolist()
    ]
    scores = torch.softmax(logits, 1).max(1).values
    np.testing.assert_allclose([row[0]["score"] for row in found], scores.numpy(), atol=1e-5)
    assert price.status_code == 200, price.text
    got = [p["value"] for p in price.json()["predictions"]]
    np.testing.assert_allclose(got, values.numpy(), rtol=1e-5, atol=1e-5)
    assert bad.status_code == 422
    assert "row 1, column 'colour': 'x' is not a known category" in bad.json()["error"]
    assert meta["parameters"]["preprocessing"]["features"] == ["size", "colour", "fresh"]
