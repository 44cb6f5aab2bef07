"""Tables as columns of strings or numbers: a CSV file read with the standard library, or one
of scikit-learn's embedded datasets (no pandas, no download)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accel.core.errors import ConfigError


@dataclass(frozen=True)
class Table:
    """Named columns of equal length; `source` names where the rows came from (for errors),
    `lines` the file line of each row (a CSV), None when rows have no line."""

    columns: Mapping[str, Sequence[Any]]
    source: str
    lines: Sequence[int] | None = None

    def __post_init__(self) -> None:
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ConfigError(f"{self.source}: columns have different lengths {sorted(lengths)}")

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def where(self, row: int) -> str:
        """`row 7 (line 8)`: a 0-based row index as people count it."""
        line = f" (line {self.lines[row]})" if self.lines is not None else ""
        return f"row {row + 1}{line}"


def read_csv(path: str | Path, *, delimiter: str = ",") -> Table:
    """Every cell of a CSV file with a header row, as text; a short or long row is an error
    naming its line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"data.path: no such CSV file: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ConfigError(f"{path}: no header row (the first line names the columns)")
    header = [cell.strip() for cell in rows[0]]
    duplicated = sorted({n for n in header if header.count(n) > 1})
    if duplicated or "" in header:
        raise ConfigError(f"{path}: column names must be unique and non-empty; got {header}")
    body, lines = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line is no row
        if len(row) != len(header):
            raise ConfigError(
                f"{path}: line {line} has {len(row)} cells, the header has {len(header)}"
            )
        body.append(row)
        lines.append(line)
    if not body:
        raise ConfigError(f"{path}: no data rows below the header")
    columns = {name: [row[i] for row in body] for i, name in enumerate(header)}
    return Table(columns, str(path), lines=lines)


def sklearn_table(name: str) -> tuple[Table, str]:
    """One of scikit-learn's embedded tables as a Table and the name of its target column."""
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    bunch: Any = loader()
    data = np.asarray(bunch.data, dtype=np.float64)
    columns: dict[str, Any] = {
        str(feature): data[:, i] for i, feature in enumerate(bunch.feature_names)
    }
    target = np.asarray(bunch.target)
    names = getattr(bunch, "target_names", None)
    if names is not None and target.dtype.kind in "iu":
        columns["target"] = [str(names[t]) for t in target]
    else:
        columns["target"] = target.astype(np.float64)
    return Table(columns, f"scikit-learn {name}"), "target"
