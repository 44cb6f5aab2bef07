"""New rows (mappings of column -> value, e.g. JSON) to model inputs, with the schema a
model was trained with: what a server or a script uses to feed a tabular model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from accel.core.errors import ConfigError
from accel.tabular.encode import encode_cell
from accel.tabular.schema import Schema, schema_from_dict


def schema_of(model_or_spec: Any) -> Schema:
    """The schema of a tabular model, or of a preprocessing spec (plain data)."""
    preprocess = getattr(model_or_spec, "preprocess", None)
    if preprocess is not None:
        return preprocess.schema
    if isinstance(model_or_spec, Mapping) and "schema" in model_or_spec:
        return schema_from_dict(model_or_spec["schema"], "preprocessing.schema")
    raise ConfigError("expected a tabular model or its preprocessing spec")


def encode_records(records: Sequence[Mapping[str, Any]], schema: Schema) -> torch.Tensor:
    """Records -> encoded inputs `(N, C)` float32; a problem is an error naming the record
    (1-based) and the column."""
    out = np.empty((len(records), len(schema.columns)), dtype=np.float32)
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ConfigError(f"record {i + 1}: expected a mapping of column -> value")
        for j, column in enumerate(schema.columns):
            if column.name not in record:
                raise ConfigError(f"record {i + 1}: column '{column.name}' is missing")
            code, problem = encode_cell(record[column.name], column)
            if problem is not None:
                raise ConfigError(f"record {i + 1}, column '{column.name}': {problem}")
            out[i, j] = code
    return torch.from_numpy(out)
