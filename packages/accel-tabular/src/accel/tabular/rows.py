"""New rows (mappings of column -> value, e.g. JSON) to model inputs, with the schema a model
was trained with: what a script uses to feed a tabular model. The encoding itself is
accel-core's (`accel.core.records`), the one `accel serve` applies to `POST /predict` rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from accel.core.errors import ConfigError
from accel.core.records import encode_records as encode_with_columns
from accel.tabular.schema import Schema, schema_from_dict


def schema_of(model_or_spec: Any) -> Schema:
    """The schema of a tabular model, or of a preprocessing spec (plain data)."""
    preprocess = getattr(model_or_spec, "preprocess", None)
    if preprocess is not None:
        return preprocess.schema
    if isinstance(model_or_spec, Mapping) and "schema" in model_or_spec:
        return schema_from_dict(model_or_spec["schema"], "preprocessing.schema")
    raise ConfigError("expected a tabular model or its preprocessing spec")


def encode_records(records: Sequence[Any], schema: Schema) -> torch.Tensor:
    """Records -> encoded inputs `(N, C)` float32; a problem is an error naming the record
    (1-based) and the column (`accel.core.records.RecordError`)."""
    return encode_with_columns(records, schema.record_format())
