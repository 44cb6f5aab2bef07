from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accel.core.errors import ConfigError
from accel.tabular.infer import infer_schema
from accel.tabular.schema import load_schema, save_schema, schema_from_dict
from accel.tabular.table import read_csv


def test_infer_schema_reads_kinds_nullability_categories_from_training_rows(
    table_csv: Path,
) -> None:
    table = read_csv(table_csv)
    schema = infer_schema(table, "label", np.arange(200))
    size, colour, fresh = schema.columns
    assert (size.kind, size.nullable) == ("numeric", True)  # one word among numbers
    assert size.min is not None
    assert size.max is not None
    assert size.min < 0 < size.max
    assert (colour.kind, colour.categories, colour.nullable) == (
        "categorical",
        ("blue", "green", "red"),
        True,
    )
    assert (fresh.kind, fresh.nullable) == ("boolean", False)
    assert schema.task == "classification"
    assert schema.classes == ["no", "yes"]


def test_schema_round_trips_through_yaml_and_json(table_csv: Path, tmp_path: Path) -> None:
    schema = infer_schema(read_csv(table_csv), "label", np.arange(200))
    for name in ("schema.yaml", "schema.json"):
        assert load_schema(save_schema(schema, tmp_path / name)) == schema


def test_column_types_and_task_override_the_guess(table_csv: Path) -> None:
    table = read_csv(table_csv)
    schema = infer_schema(table, "label", np.arange(200), kinds={"fresh": "categorical"})
    assert schema.columns[2].categories == ("false", "true")
    with pytest.raises(ConfigError, match="no columns"):
        infer_schema(table, "label", np.arange(10), kinds={"weight": "numeric"})
    with pytest.raises(ConfigError, match=r"data\.task"):
        infer_schema(table, "label", np.arange(10), task="ranking")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "text"}, "kind 'text' is not valid"),
        ({"kind": "categorical", "categories": []}, "needs a list of categories"),
        ({"min": 3, "max": 1}, "min 3 is above max 1"),
        ({"colour": "red"}, "unknown keys"),
    ],
)
def test_a_bad_schema_file_names_the_column(change: dict[str, object], message: str) -> None:
    column = {"name": "size", "kind": "numeric", **change}
    data = {"target": {"name": "y", "kind": "numeric"}, "columns": [column]}
    with pytest.raises(ConfigError, match=message):
        schema_from_dict(data)
