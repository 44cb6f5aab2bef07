"""Records (rows of named columns: JSON objects, CSV cells) -> a model's input `(N, C)` float32.

One encoding for every package: accel-tabular encodes its training rows with it, `accel serve`
encodes the JSON rows of `POST /predict` with it, so a row means the same thing in both. The
column description is plain JSON that travels with the model (`input_columns()` on the model,
see `accel.core.protocols.RecordModel`; `columns.json` in an `accel compress` folder):

```json
{"version": 1,
 "columns": [
   {"name": "alcohol", "kind": "numeric", "nullable": false, "min": 7.9, "max": 15.8},
   {"name": "colour", "kind": "categorical", "nullable": true,
    "categories": ["red", "white"], "unknown": "error"},
   {"name": "organic", "kind": "boolean", "nullable": false}],
 "output": {"task": "classification", "name": "quality", "classes": ["bad", "good"]}}
```

Each record gives one float per column, in the listed order: a number as it is (checked against
`min`/`max`), a boolean 0/1 (true/false, yes/no, 1/0), a category its index in `categories`
(-1 for an unseen one when `unknown` is `ignore`), NaN for a missing value (null, "", "NA", ...;
allowed where `nullable`). `output` (optional) says what the model returns: class names for a
classifier, the target's name for a regressor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from accel.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

VERSION = 1
KINDS = ("numeric", "categorical", "boolean")
UNKNOWN = ("error", "ignore")
TASKS = ("classification", "regression")
TRUE = frozenset({"true", "yes", "y", "t", "1"})
FALSE = frozenset({"false", "no", "n", "f", "0"})
# Cell texts read as a missing value.
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
# The code of a category the column does not know (with `unknown: ignore`).
UNKNOWN_CODE = -1.0
COLUMN_KEYS = frozenset({"name", "kind", "nullable", "min", "max", "categories", "unknown"})


class RecordError(ConfigError):
    """A record that does not fit the columns; `row` is 1-based, `column` None for the row."""

    def __init__(self, message: str, *, row: int, column: str | None = None) -> None:
        super().__init__(message)
        self.row = row
        self.column = column


@dataclass(frozen=True)
class RecordColumn:
    """One input column: `kind` numeric, categorical or boolean; numbers must lie in
    [min, max] (either may be None); a category must be one of `categories` unless `unknown`
    is `ignore`; a missing value is allowed where `nullable`."""

    name: str
    kind: str
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None
    unknown: str = "error"

    def __post_init__(self) -> None:
        where = f"column '{self.name}'"
        if self.kind not in KINDS:
            raise ConfigError(f"{where}: kind {self.kind!r} is not valid; use one of {KINDS}")
        if self.unknown not in UNKNOWN:
            raise ConfigError(f"{where}: unknown {self.unknown!r} is not valid; use {UNKNOWN}")
        if self.kind == "categorical" and not self.categories:
            raise ConfigError(f"{where}: a categorical column needs a list of categories")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ConfigError(f"{where}: min {self.min} is above max {self.max}")

    def as_dict(self) -> dict[str, Any]:
        """The column as plain data, keys with no meaning for its kind left out."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "nullable": self.nullable}
        if self.kind == "numeric":
            out.update(min=self.min, max=self.max)
        if self.kind == "categorical":
            out.update(categories=list(self.categories or ()), unknown=self.unknown)
        return out


@dataclass(frozen=True)
class RecordOutput:
    """What the model returns: `classes` (classification, in output order) or one value
    (regression); `name` the target's name, if known."""

    task: str
    name: str | None = None
    classes: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task, "name": self.name}
        if self.classes is not None:
            out["classes"] = list(self.classes)
        return out


@dataclass(frozen=True)
class RecordFormat:
    """The input columns in model-input order and, optionally, what the model returns."""

    columns: tuple[RecordColumn, ...]
    output: RecordOutput | None = None

    def __post_init__(self) -> None:
        names = self.names
        if not names:
            raise ConfigError("columns: no input columns")
        if len(set(names)) != len(names):
            raise ConfigError(f"columns: names must be unique; got {names}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON (what `input_columns()` returns and `columns.json` holds)."""
        out: dict[str, Any] = {"version": VERSION, "columns": [c.as_dict() for c in self.columns]}
        if self.output is not None:
            out["output"] = self.output.as_dict()
        return out


def column_text(value: Any) -> str:
    """A category read from JSON/YAML as text (`[false, true]` are the words, not Python's)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def column_from_dict(item: Any, where: str = "column") -> RecordColumn:
    """A RecordColumn from plain data, every key checked."""
    if not isinstance(item, Mapping) or "name" not in item or "kind" not in item:
        raise ConfigError(f"{where}: each column needs at least name and kind; got {item!r:.200}")
    unknown = sorted(set(item) - COLUMN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; valid: {sorted(COLUMN_KEYS)}")
    values = dict(item)
    categories = values.get("categories")
    if categories is not None:
        if isinstance(categories, str) or not isinstance(categories, Sequence):
            raise ConfigError(f"{where}: categories must be a list")
        values["categories"] = tuple(column_text(c) for c in categories)
    for key in ("min", "max"):
        bound = values.get(key)
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
            raise ConfigError(f"{where}: {key} must be a number or null; got {bound!r:.60}")
    values["name"] = str(values["name"])
    values["nullable"] = bool(values.get("nullable", False))
    try:
        return RecordColumn(**values)
    except (ConfigError, TypeError) as error:
        raise ConfigError(f"{where}: {error}") from None


def output_from_dict(item: Any, where: str = "output") -> RecordOutput:
    if not isinstance(item, Mapping) or item.get("task") not in TASKS:
        raise ConfigError(f"{where}: expected {{task: {' or '.join(TASKS)}, name, classes}}")
    unknown = sorted(set(item) - {"task", "name", "classes"})
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; valid: classes, name, task")
    classes = item.get("classes")
    if classes is not None and (isinstance(classes, str) or not isinstance(classes, Sequence)):
        raise ConfigError(f"{where}: classes must be a list of names")
    name = item.get("name")
    return RecordOutput(
        task=str(item["task"]),
        name=None if name is None else str(name),
        classes=None if classes is None else tuple(column_text(c) for c in classes),
    )


def record_format(data: Any, source: str = "columns") -> RecordFormat:
    """A RecordFormat from its plain JSON (`{"version", "columns", "output"}`), a list of
    column mappings, or a RecordFormat (returned as it is); every key checked."""
    if isinstance(data, RecordFormat):
        return data
    if isinstance(data, Sequence) and not isinstance(data, str):
        data = {"columns": data}
    if not isinstance(data, Mapping) or "columns" not in data:
        raise ConfigError(f"{source}: expected {{version: {VERSION}, columns: [...], output}}")
    if data.get("version", VERSION) != VERSION:
        raise ConfigError(f"{source}: version {data.get('version')!r} is not {VERSION}")
    unknown = sorted(set(data) - {"version", "columns", "output"})
    if unknown:
        raise ConfigError(f"{source}: unknown keys {unknown}; valid: columns, output, version")
    columns = data["columns"]
    if isinstance(columns, str) or not isinstance(columns, Sequence):
        raise ConfigError(f"{source}: columns must be a list of column mappings")
    parsed = tuple(column_from_dict(c, f"{source}: columns[{i}]") for i, c in enumerate(columns))
    output = data.get("output")
    found = None if output is None else output_from_dict(output, f"{source}: output")
    try:
        return RecordFormat(parsed, found)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def is_missing(value: Any) -> bool:
    """None, NaN, or a cell text meaning "no value"."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower() in MISSING


def to_number(value: Any) -> float | None:
    """The value as a finite float, or None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def category_text(value: Any) -> str:
    """A category as text: `3.0` read from numbers reads as `3`, text is stripped."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return column_text(value).strip()


def encode_value(value: Any, column: RecordColumn) -> tuple[float, str | None]:
    """`(code, problem)`: the value's code in `column`, or NaN and what is wrong with it."""
    if is_missing(value):
        return math.nan, None if column.nullable else "missing, and the column is not nullable"
    if column.kind == "numeric":
        return _number(value, column)
    if column.kind == "boolean":
        text = column_text(value).strip().lower()
        if text in TRUE or text in FALSE:
            return float(text in TRUE), None
        return math.nan, f"{value!r:.40} is not a boolean (true/false, yes/no, 1/0)"
    return _category(value, column)


def _number(value: Any, column: RecordColumn) -> tuple[float, str | None]:
    number = to_number(value)
    if number is None:
        return math.nan, f"{value!r:.40} is not a number"
    if (column.min is not None and number < column.min) or (
        column.max is not None and number > column.max
    ):
        return math.nan, f"{number:g} is outside the allowed range [{column.min}, {column.max}]"
    return number, None


def _category(value: Any, column: RecordColumn) -> tuple[float, str | None]:
    categories = column.categories or ()
    text = category_text(value)
    if text in categories:
        return float(categories.index(text)), None
    if column.unknown == "ignore":
        return UNKNOWN_CODE, None
    shown = ", ".join(categories[:8]) + (", ..." if len(categories) > 8 else "")
    return math.nan, f"{text!r:.40} is not a known category ({shown}; or set unknown: ignore)"


def encode_records(records: Sequence[Any], columns: Any) -> torch.Tensor:
    """`records` -> the model's input `(N, C)` float32 torch tensor.

    A record is a mapping of column name -> value (the output's name, a target column, is
    ignored; any other unknown key is an error) or a list of values in column order.
    `columns` is the plain-JSON description (see the module docstring) or a RecordFormat.
    The first problem raises `RecordError` naming the record (1-based) and the column.
    """
    import torch

    found = record_format(columns)
    if isinstance(records, Mapping | str) or not isinstance(records, Sequence):
        raise ConfigError("records: expected a list of records (objects or lists of values)")
    out = np.empty((len(records), len(found.columns)), dtype=np.float32)
    for i, record in enumerate(records):
        out[i] = encode_record(record, found, i + 1)
    return torch.from_numpy(out)


def encode_record(record: Any, found: RecordFormat, row: int) -> list[float]:
    """One record's codes, in column order; `row` (1-based) names it in errors."""
    values = record_values(record, found, row)
    codes = []
    for value, column in zip(values, found.columns, strict=True):
        code, problem = encode_value(value, column)
        if problem is not None:
            raise RecordError(f"row {row}, column '{column.name}': {problem}", row=row,
                              column=column.name)  # fmt: skip
        codes.append(code)
    return codes


def record_values(record: Any, found: RecordFormat, row: int) -> list[Any]:
    """The record's raw values in column order, its keys (or length) checked."""
    names = found.names
    if isinstance(record, Mapping):
        missing = [n for n in names if n not in record]
        if missing:
            raise RecordError(
                f"row {row}, column '{missing[0]}': missing (columns: {', '.join(names)})",
                row=row, column=missing[0],
            )  # fmt: skip
        target = found.output.name if found.output is not None else None
        extra = [str(k) for k in record if k not in names and k != target]
        if extra:
            raise RecordError(
                f"row {row}: unknown column {extra[0]!r:.60} (columns: {', '.join(names)})",
                row=row,
            )
        return [record[n] for n in names]
    if isinstance(record, Sequence) and not isinstance(record, str | bytes):
        if len(record) != len(names):
            raise RecordError(
                f"row {row}: expected {len(names)} values ({', '.join(names)}), "
                f"received {len(record)}",
                row=row,
            )
        return list(record)
    raise RecordError(
        f"row {row}: expected an object of column -> value or a list of values", row=row
    )
