"""Check a table's rows against a schema and encode them as the model's input: one float per
column (numbers as they are, booleans 0/1, categories as their index, -1 for an unknown
category the schema ignores, NaN for a missing value), cell by cell with accel-core's
`accel.core.records.encode_value`, the encoding `accel serve` applies to JSON rows. Every
problem names its row and column."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accel.core.errors import ConfigError
from accel.core.records import (
    FALSE,
    TRUE,
    UNKNOWN_CODE,
    category_text,
    encode_value,
    is_missing,
    to_number,
)
from accel.tabular.schema import Schema
from accel.tabular.table import Table


@dataclass(frozen=True)
class Problem:
    """A cell that breaks the schema: `row` is the 0-based row index in the table."""

    row: int
    column: str
    message: str


@dataclass
class Encoded:
    """Encoded rows that passed (`rows`: their indices in the table), the problems of those
    that did not, and how many unknown categories were encoded as unknown, per column."""

    inputs: np.ndarray
    targets: np.ndarray | None
    rows: np.ndarray
    problems: list[Problem] = field(default_factory=list)
    unknown: dict[str, int] = field(default_factory=dict)


def encode_rows(table: Table, schema: Schema, rows: Sequence[int] | np.ndarray) -> Encoded:
    """Encode `rows` of `table`; those with a problem are left out and listed."""
    missing = [c.name for c in (*schema.columns, schema.target) if c.name not in table.columns]
    if missing:
        raise ConfigError(
            f"{table.source}: the schema's columns {missing} are missing; "
            f"the table has {table.names}"
        )
    rows = np.asarray(rows, dtype=np.int64)
    inputs = np.empty((len(rows), len(schema.columns)), dtype=np.float32)
    targets = np.empty(len(rows), dtype=np.float64)
    bad: dict[int, Problem] = {}
    unknown: dict[str, int] = {}
    for j, column in enumerate(schema.columns):
        cells = table.columns[column.name]
        for i, row in enumerate(rows):
            code, problem = encode_value(cells[int(row)], column)
            inputs[i, j] = code
            if problem is not None:
                bad.setdefault(i, Problem(int(row), column.name, problem))
            elif code == UNKNOWN_CODE and column.kind == "categorical":
                unknown[column.name] = unknown.get(column.name, 0) + 1
    for i, row in enumerate(rows):
        code, problem = encode_target(table.columns[schema.target.name][int(row)], schema)
        targets[i] = code
        if problem is not None:
            bad.setdefault(i, Problem(int(row), schema.target.name, problem))
    keep = np.array([i not in bad for i in range(len(rows))], dtype=bool)
    problems = [bad[i] for i in sorted(bad)]
    return Encoded(inputs[keep], targets[keep], rows[keep], problems, unknown)


def encode_target(value: Any, schema: Schema) -> tuple[float, str | None]:
    """The class index (classification) or the number (regression) of a target cell."""
    target = schema.target
    if is_missing(value):
        return np.nan, "the target is missing"
    if schema.task == "regression":
        number = to_number(value)
        return (np.nan, f"target {value!r} is not a number") if number is None else (number, None)
    text = category_text(value)
    classes = schema.classes
    if target.kind == "boolean":
        lowered = text.lower()
        text = "true" if lowered in TRUE else "false" if lowered in FALSE else text
    if text not in classes:
        return np.nan, f"target {text!r} is not a known class ({', '.join(classes)})"
    return float(classes.index(text)), None


def apply_policy(encoded: Encoded, table: Table, schema: Schema, split: str) -> Encoded:
    """Raise on the first problem (invalid_rows: error) or warn with the count (drop)."""
    if encoded.problems:
        first = encoded.problems[0]
        count = len(encoded.problems)
        detail = f"{table.source}: {table.where(first.row)}, column '{first.column}': "
        detail += first.message
        if schema.invalid_rows == "error":
            raise ConfigError(
                f"{detail} ({count} row{'s' * (count > 1)} of the {split} split break the "
                "schema; set invalid_rows: drop in the schema, or data.invalid_rows=drop, "
                "to leave them out)"
            )
        warnings.warn(
            f"left out {count} of {count + len(encoded.rows)} {split} rows that break the "
            f"schema; the first: {detail}",
            UserWarning,
            stacklevel=2,
        )
    for name, count in encoded.unknown.items():
        warnings.warn(
            f"{table.source}: {count} {split} rows have a category of column '{name}' "
            "the schema does not know; encoded as unknown (unknown: ignore)",
            UserWarning,
            stacklevel=2,
        )
    return encoded
