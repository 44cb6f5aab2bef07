"""The MLflow tracking server's limits, as its own validation module states them.

Values from `mlflow/utils/validation.py` (MLflow 3.x) and the REST API's LogBatch docs:
a batch holds at most 1000 metrics, 100 params, 100 tags and 1000 entities in total,
in at most 1 MB of JSON. Older servers limited param values to 500 characters: pass
`max_param_length=500` to the tracker for those.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one server accepts; the defaults are those of MLflow 3."""

    max_metrics_per_batch: int = 1000
    max_params_per_batch: int = 100
    max_tags_per_batch: int = 100
    max_entities_per_batch: int = 1000
    max_request_bytes: int = 1_000_000
    max_key_length: int = 250
    max_param_length: int = 6000
    max_tag_length: int = 8000


DEFAULT_LIMITS = Limits()
