"""A table's schema: each column's kind, whether it may be missing, its allowed range or
categories; inferred from the training rows, saved as YAML or JSON for people to edit.

```yaml
version: 1
target: {name: quality, kind: categorical, categories: [bad, good]}
invalid_rows: error        # or drop: rows that break the schema are counted and left out
columns:
  - {name: alcohol, kind: numeric, nullable: false, min: 7.9, max: 15.8}
  - {name: colour, kind: categorical, nullable: true, categories: [red, white], unknown: error}
  - {name: organic, kind: boolean, nullable: false}
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from accel.core.errors import ConfigError
from accel.core.records import RecordColumn, RecordFormat, RecordOutput, column_from_dict

VERSION = 1
INVALID_ROWS = ("error", "drop")
# A column of a schema is accel-core's record column (`accel.core.records`): the same
# description, checks and encoding serve training rows here and JSON rows in `accel serve`.
Column = RecordColumn


@dataclass(frozen=True)
class Schema:
    """The feature columns in model-input order, the target, and what to do with rows that
    break the schema (`error`: stop naming the first; `drop`: leave them out, counted)."""

    columns: tuple[Column, ...]
    target: Column
    invalid_rows: str = "error"
    version: int = VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.invalid_rows not in INVALID_ROWS:
            raise ConfigError(
                f"schema: invalid_rows {self.invalid_rows!r} is not valid; use {INVALID_ROWS}"
            )
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names) or self.target.name in names:
            raise ConfigError(f"schema: column names must be unique; got {names}")
        if not self.columns:
            raise ConfigError("schema: no feature columns")

    @property
    def task(self) -> str:
        """`classification` for a categorical (or boolean) target, else `regression`."""
        return "regression" if self.target.kind == "numeric" else "classification"

    @property
    def classes(self) -> list[str]:
        """Class names in class-index order (classification)."""
        if self.target.kind == "boolean":
            return ["false", "true"]
        return list(self.target.categories or ())

    def with_invalid_rows(self, policy: str | None) -> Schema:
        return self if policy is None else replace(self, invalid_rows=policy)

    def record_format(self) -> RecordFormat:
        """The input columns and the output, as accel-core's record format (what a model
        trained on this schema reports through `input_columns()`)."""
        classes = tuple(self.classes) if self.task == "classification" else None
        return RecordFormat(self.columns, RecordOutput(self.task, self.target.name, classes))

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "target": self.target.as_dict(),
            "invalid_rows": self.invalid_rows,
            "columns": [c.as_dict() for c in self.columns],
        }


def schema_from_dict(data: Any, source: str = "schema") -> Schema:
    """A Schema from plain data (a parsed YAML/JSON file), checked."""
    if not isinstance(data, Mapping) or "columns" not in data or "target" not in data:
        raise ConfigError(f"{source}: a schema needs 'target' and 'columns'")
    if data.get("version", VERSION) != VERSION:
        raise ConfigError(f"{source}: schema version {data.get('version')} is not {VERSION}")
    if not isinstance(data["columns"], Sequence) or isinstance(data["columns"], str):
        raise ConfigError(f"{source}: columns must be a list of column mappings")
    columns = tuple(
        column_from_dict(c, f"{source}: columns[{i}]") for i, c in enumerate(data["columns"])
    )
    target = column_from_dict(data["target"], f"{source}: target")
    return Schema(columns, target, str(data.get("invalid_rows", "error")))


def save_schema(schema: Schema, path: str | Path) -> Path:
    """Write the schema as YAML (`.yaml`/`.yml`) or JSON (anything else), atomically."""
    import yaml

    from accel.core.atomic import write_text_atomic

    path = Path(path)
    data = schema.as_dict()
    if path.suffix in (".yaml", ".yml"):
        text = "# accel-tabular schema: edit kinds, ranges, categories and policies\n"
        text += yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    else:
        text = json.dumps(data, indent=2)
    return write_text_atomic(path, text)


def load_schema(path: str | Path) -> Schema:
    """A schema file (YAML or JSON, read safely), or the schema inside an accel checkpoint
    (its manifest only: no tensors, nothing unpickled)."""
    import yaml

    path = Path(path)
    if path.is_dir() or path.name == "last":
        return checkpoint_schema(path)
    if not path.is_file():
        raise ConfigError(f"data.schema: no such file: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        detail = " ".join(str(error).split())
        raise ConfigError(f"{path}: not a YAML/JSON schema ({detail})") from None
    return schema_from_dict(data, str(path))


def checkpoint_schema(path: str | Path) -> Schema:
    """The schema a tabular model was trained with, from its checkpoint's manifest."""
    from accel.core.checkpoint import read_manifest, resolve_checkpoint

    manifest = read_manifest(resolve_checkpoint(path))
    spec = (manifest.get("model") or {}).get("spec") or {}
    preprocessing = spec.get("preprocessing") if isinstance(spec, Mapping) else None
    if not isinstance(preprocessing, Mapping) or "schema" not in preprocessing:
        raise ConfigError(f"data.schema: checkpoint {path} holds no tabular schema")
    return schema_from_dict(preprocessing["schema"], f"{path}/manifest.json")
