from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from accel.core.errors import ConfigError
from accel.tabular.encode import UNKNOWN_CODE, apply_policy, encode_rows
from accel.tabular.infer import infer_schema
from accel.tabular.table import Table, read_csv


def test_the_bad_row_is_reported_by_row_line_and_column(table_csv: Path) -> None:
    table = read_csv(table_csv)
    schema = infer_schema(table, "label", np.arange(len(table)))
    encoded = encode_rows(table, schema, np.arange(len(table)))
    assert [(p.row, p.column) for p in encoded.problems] == [(7, "size")]
    assert len(encoded.rows) == len(table) - 1
    assert 7 not in encoded.rows
    with pytest.raises(ConfigError, match=r"row 8 \(line 9\), column 'size': 'huge' is not a num"):
        apply_policy(encoded, table, schema, "train")
    with pytest.warns(UserWarning, match=r"left out 1 of 240 train rows .* row 8 \(line 9\)"):
        apply_policy(encoded, table, schema.with_invalid_rows("drop"), "train")


def test_missing_values_are_nan_where_nullable_and_a_problem_where_not() -> None:
    table = Table({"x": ["1", "", "3"], "y": ["a", "b", "b"]}, "t.csv", lines=[2, 3, 4])
    schema = infer_schema(table, "y", np.array([0, 2]))  # x had no missing training value
    encoded = encode_rows(table, schema, np.arange(3))
    assert [(p.row, p.message) for p in encoded.problems] == [
        (1, "missing, and the column is not nullable")
    ]
    nullable = replace(schema, columns=(replace(schema.columns[0], nullable=True),))
    assert np.isnan(encode_rows(table, nullable, np.arange(3)).inputs[1, 0])


def test_an_unseen_category_is_an_error_or_counted_as_unknown() -> None:
    table = Table({"c": ["red", "blue", "pink"], "y": ["1.0", "2.0", "3.0"]}, "t")
    schema = infer_schema(table, "y", np.array([0, 1]))
    assert schema.task == "regression"
    problem = encode_rows(table, schema, np.arange(3)).problems[0]
    assert (problem.row, problem.column) == (2, "c")
    assert "'pink' is not a known" in problem.message
    ignoring = replace(schema, columns=(replace(schema.columns[0], unknown="ignore"),))
    encoded = encode_rows(table, ignoring, np.arange(3))
    assert encoded.inputs[:, 0].tolist() == [1.0, 0.0, UNKNOWN_CODE]
    assert encoded.unknown == {"c": 1}
    with pytest.warns(UserWarning, match="1 test rows have a category of column 'c'"):
        apply_policy(encoded, table, ignoring, "test")


def test_a_value_outside_the_allowed_range_and_a_missing_column_are_named() -> None:
    table = Table({"x": ["1", "2", "90"], "y": ["a", "b", "a"]}, "t")
    schema = infer_schema(table, "y", np.array([0, 1]))
    assert "outside the allowed range" in encode_rows(table, schema, [2]).problems[0].message
    with pytest.raises(ConfigError, match=r"columns \['x'\] are missing"):
        encode_rows(Table({"y": ["a"]}, "other.csv"), schema, [0])
