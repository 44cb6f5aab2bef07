from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch

from accel.core.errors import ConfigError
from accel.core.protocols import RecordModel, input_columns_of
from accel.core.records import (
    UNKNOWN_CODE,
    RecordError,
    encode_records,
    encode_value,
    record_format,
)

COLUMNS: dict[str, Any] = {
    "version": 1,
    "columns": [
        {"name": "size", "kind": "numeric", "nullable": True, "min": 0.0, "max": 10.0},
        {"name": "colour", "kind": "categorical", "categories": ["blue", "red"]},
        {"name": "shade", "kind": "categorical", "categories": ["1", "2"], "unknown": "ignore"},
        {"name": "fresh", "kind": "boolean"},
    ],
    "output": {"task": "classification", "name": "label", "classes": ["no", "yes"]},
}


def test_records_encode_in_column_order_with_codes_booleans_and_nan() -> None:
    rows = [
        {"fresh": True, "shade": 2, "colour": "red", "size": 3.5},
        {"size": None, "colour": " blue ", "shade": "7", "fresh": "no", "label": "yes"},
        [" 1e0 ", "red", 1.0, "YES"],
    ]
    out = encode_records(rows, COLUMNS)
    assert out.dtype == torch.float32
    assert out.shape == (3, 4)
    assert out[0].tolist() == [3.5, 1.0, 1.0, 1.0]
    assert math.isnan(out[1, 0].item())
    assert out[1, 1:].tolist() == [0.0, UNKNOWN_CODE, 0.0]  # unseen shade: ignored, -1
    assert out[2].tolist() == [1.0, 1.0, 0.0, 1.0]


def test_the_description_survives_json_and_keeps_its_output() -> None:
    found = record_format(json.loads(json.dumps(COLUMNS)))
    assert found.names == ["size", "colour", "shade", "fresh"]
    assert found.output is not None
    assert found.output.classes == ("no", "yes")
    assert record_format(found.as_dict()) == found
    assert record_format(COLUMNS["columns"]).output is None  # a bare list of columns


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"size": 3, "colour": "green", "shade": 1, "fresh": 1}, "row 2, column 'colour': 'green'"),
        ({"size": 11, "colour": "red", "shade": 1, "fresh": 1}, "column 'size': 11 is outside"),
        ({"size": "big", "colour": "red", "shade": 1, "fresh": 1}, "column 'size': 'big' is not"),
        ({"size": 1, "colour": None, "shade": 1, "fresh": 1}, "column 'colour': missing, and"),
        ({"size": 1, "colour": "red", "shade": 1, "fresh": "maybe"}, "'maybe' is not a boolean"),
        ({"size": 1, "colour": "red", "shade": 1}, "row 2, column 'fresh': missing"),
        ({"size": 1, "colour": "red", "shade": 1, "fresh": 1, "sise": 2}, "unknown column 'sise'"),
        ([1, "red"], "row 2: expected 4 values"),
        ("size=1", "row 2: expected an object"),
    ],
)
def test_a_bad_record_names_its_row_and_column(row: Any, message: str) -> None:
    good = {"size": 1, "colour": "red", "shade": 1, "fresh": 0}
    with pytest.raises(RecordError, match=message) as caught:
        encode_records([good, row], COLUMNS)
    assert caught.value.row == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"columns": [{"name": "a", "kind": "text"}]}, "kind 'text' is not valid"),
        ({"columns": [{"name": "a", "kind": "categorical"}]}, "needs a list of categories"),
        ({"columns": [{"name": "a", "kind": "numeric", "min": 2, "max": 1}]}, "above max"),
        ({"columns": [{"name": "a", "kind": "numeric", "min": "x"}]}, "min must be a number"),
        ({"columns": [{"name": "a", "kind": "numeric", "code": 1}]}, "unknown keys"),
        ({"columns": [{"name": "a", "kind": "numeric"}] * 2}, "names must be unique"),
        ({"columns": []}, "no input columns"),
        ({"version": 2, "columns": []}, "version 2 is not 1"),
        ({"columns": [{"name": "a", "kind": "numeric"}], "output": {"task": "x"}}, "task"),
        ({"cols": []}, "expected"),
    ],
)
def test_a_bad_description_is_one_error_naming_the_key(data: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        record_format(data, "columns.json")


def test_encode_value_reports_instead_of_raising() -> None:
    column = record_format(COLUMNS).columns[0]
    assert encode_value("4", column) == (4.0, None)
    code, problem = encode_value(float("inf"), column)
    assert math.isnan(code)
    assert problem is not None
    assert "not a number" in problem


def test_records_must_be_a_list() -> None:
    with pytest.raises(ConfigError, match="expected a list of records"):
        encode_records({"size": 1}, COLUMNS)  # type: ignore[arg-type]


class Described(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def input_columns(self) -> dict[str, Any]:
        return COLUMNS


def test_a_model_describes_its_columns_through_the_protocol() -> None:
    model = Described()
    assert isinstance(model, RecordModel)
    assert input_columns_of(model) == record_format(COLUMNS).as_dict()
    assert input_columns_of(torch.nn.Linear(2, 2)) is None
