"""Infer a schema from the training rows: kinds by what most values parse as, categories with
scikit-learn's OrdinalEncoder, nullability and a generous allowed range from what was seen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from accel.core.errors import ConfigError
from accel.core.records import FALSE, KINDS, TRUE, category_text, is_missing, to_number
from accel.tabular.schema import Column, Schema
from accel.tabular.table import Table

# A column is numeric when at least this share of its present training values are numbers
# (the rest are then reported as rows that break the schema).
NUMERIC_SHARE = 0.9
TASKS = ("classification", "regression")


def infer_schema(
    table: Table,
    target: str,
    rows: np.ndarray,
    *,
    kinds: Mapping[str, str] | None = None,
    task: str | None = None,
    invalid_rows: str = "error",
) -> Schema:
    """The schema of `table` as its `rows` (the training split) show it; `kinds` fixes the
    kind of named columns, `task` the target's (classification or regression; None: a
    numeric target is regression, any other classification)."""
    kinds = dict(kinds or {})
    unknown = sorted(set(kinds) - set(table.names))
    if unknown:
        raise ConfigError(f"data.column_types: no columns {unknown} in {table.source}")
    if task is not None and task not in TASKS:
        raise ConfigError(f"data.task: {task!r} is not valid; use one of {TASKS} or null")
    if target not in table.columns:
        raise ConfigError(
            f"data.target: no column {target!r} in {table.source}; columns: {table.names}"
        )
    features = tuple(
        infer_column(name, _values(table.columns[name], rows), kinds.get(name))
        for name in table.names
        if name != target
    )
    target_kind = {"classification": "categorical", "regression": "numeric"}.get(task or "")
    values = _values(table.columns[target], rows)
    inferred = infer_column(target, values, target_kind)
    if inferred.kind == "boolean":  # yes/no classes keep their own names
        inferred = infer_column(target, values, "categorical")
    return Schema(features, replace(inferred, nullable=False), invalid_rows)


def _values(column: Sequence[Any], rows: np.ndarray) -> list[Any]:
    return [column[int(i)] for i in rows]


def infer_column(name: str, values: list[Any], kind: str | None = None) -> Column:
    """One column from its training values; `kind` (if given) is kept, not guessed."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"data.column_types.{name}: {kind!r} is not valid; use one of {KINDS}")
    present = [v for v in values if not is_missing(v)]
    nullable = len(present) < len(values)
    if not present:
        raise ConfigError(f"column '{name}': no value in the training rows; drop the column")
    kind = kind or guess_kind(present)
    if kind == "numeric":
        numbers = np.array([n for n in (to_number(v) for v in present) if n is not None])
        if numbers.size == 0:
            raise ConfigError(f"column '{name}': declared numeric but holds no number")
        low, high = float(numbers.min()), float(numbers.max())
        margin = high - low  # allow one training range either side: new data drifts
        return Column(name, "numeric", nullable, low - margin, high + margin)
    if kind == "boolean":
        return Column(name, "boolean", nullable)
    return Column(name, "categorical", nullable, categories=fit_categories(present))


def guess_kind(present: list[Any]) -> str:
    """numeric, boolean (true/false words) or categorical, by what most values parse as."""
    texts = [str(v).strip().lower() for v in present]
    if all(t in TRUE | FALSE for t in texts) and not all(t in ("0", "1") for t in texts):
        return "boolean"
    numbers = sum(to_number(v) is not None for v in present)
    return "numeric" if numbers >= NUMERIC_SHARE * len(present) else "categorical"


def fit_categories(present: list[Any]) -> tuple[str, ...]:
    """The sorted categories, as scikit-learn's OrdinalEncoder learns them."""
    from sklearn.preprocessing import OrdinalEncoder

    texts = np.array([category_text(v) for v in present], dtype=object).reshape(-1, 1)
    encoder = OrdinalEncoder().fit(texts)
    return tuple(str(c) for c in encoder.categories_[0])
