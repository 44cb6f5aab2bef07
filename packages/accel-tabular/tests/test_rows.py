"""JSON rows through accel-core's records give the very codes the table encoding gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from accel.core.records import RecordError, encode_records
from accel.tabular.datasets import csv
from accel.tabular.encode import encode_rows
from accel.tabular.models import mlp
from accel.tabular.rows import schema_of
from accel.tabular.table import read_csv


@pytest.mark.filterwarnings("ignore:left out 1")
def test_model_columns_encode_json_rows_as_the_training_table_was(table_csv: Path) -> None:
    data = csv(table_csv, target="label", invalid_rows="drop")
    model = mlp(num_classes=data.num_classes, **data.model_arguments())
    columns = json.loads(json.dumps(model.input_columns()))  # plain JSON, as it travels
    assert [c["name"] for c in columns["columns"]] == ["size", "colour", "fresh"]
    assert columns["output"] == {
        "task": "classification",
        "name": "label",
        "classes": ["no", "yes"],
    }
    table = read_csv(table_csv)
    kept = data.splits["train"].rows
    records = [{name: table.columns[name][int(i)] for name in table.names} for i in kept]
    from_json = encode_records(records, columns).numpy()  # the label column is ignored
    from_table = encode_rows(table, schema_of(model), kept).inputs
    np.testing.assert_array_equal(from_json, from_table)  # NaN where missing, in both
    assert np.isnan(from_json).any()
    with pytest.raises(RecordError, match=r"row 1, column 'colour': 'pink' is not a known"):
        encode_records([{"size": 3, "colour": "pink", "fresh": "yes"}], columns)
