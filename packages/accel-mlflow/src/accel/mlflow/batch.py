"""One log_batch request, filled up to the server's limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accel.mlflow.limits import Limits

_ENTRY_OVERHEAD = 64  # JSON punctuation and field names per entity, generously


@dataclass
class Batch:
    """Metrics, params and tags of one request; `fits` says whether one more entity does."""

    limits: Limits
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    size: int = 0

    def __len__(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)

    def fits(self, kind: str, key: str, value: Any) -> bool:
        """Whether adding this entity keeps the batch within every limit."""
        limits = self.limits
        if len(self) + 1 > limits.max_entities_per_batch:
            return False
        if self.size + _entity_size(key, value) > limits.max_request_bytes * 0.9:
            return False
        if kind == "metric":
            return len(self.metrics) < limits.max_metrics_per_batch
        if kind == "param":
            return len(self.params) < limits.max_params_per_batch
        return len(self.tags) < limits.max_tags_per_batch

    def add(self, kind: str, key: str, value: Any) -> None:
        """Add an entity; a metric's value is `(value, timestamp_ms, step)`."""
        self.size += _entity_size(key, value)
        if kind == "metric":
            number, timestamp, step = value
            self.metrics.append((key, number, timestamp, step))
        elif kind == "param":
            self.params[key] = value
        else:
            self.tags[key] = value


def _entity_size(key: str, value: Any) -> int:
    return len(key.encode()) + len(str(value).encode()) + _ENTRY_OVERHEAD
