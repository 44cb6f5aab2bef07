"""Evaluation metrics by name, built with torchmetrics.

`["accuracy", {"name": "f1", "average": "macro"}]` -> `{"accuracy": MulticlassAccuracy(...), ...}`;
classification metrics take `num_classes` from the spec, from the data module, or else from
the class dimension of the first predictions they see.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from accel.core.errors import ConfigError
from accel.core.registry import import_target

# name -> (torchmetrics class path, needs num_classes)
METRICS: dict[str, tuple[str, bool]] = {
    "accuracy": ("torchmetrics.classification:MulticlassAccuracy", True),
    "f1": ("torchmetrics.classification:MulticlassF1Score", True),
    "precision": ("torchmetrics.classification:MulticlassPrecision", True),
    "recall": ("torchmetrics.classification:MulticlassRecall", True),
    "mae": ("torchmetrics.regression:MeanAbsoluteError", False),
    "mse": ("torchmetrics.regression:MeanSquaredError", False),
    "psnr": ("torchmetrics.image:PeakSignalNoiseRatio", False),
    "r2": ("torchmetrics.regression:R2Score", False),
}


def build_metrics(spec: Any, num_classes: int | None = None) -> dict[str, Any]:
    """Metric objects by name from a list/mapping of names, specs or torchmetrics objects."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {str(k): _build_one(v, str(k), num_classes) for k, v in spec.items()}
    if isinstance(spec, str) or not isinstance(spec, Sequence):
        raise ConfigError(
            f"metrics must be a list of names or specs, got {type(spec).__name__} {spec!r}"
        )
    built: dict[str, Any] = {}
    for item in spec:
        name = _name_of(item)
        built[name] = _build_one(item, name, num_classes)
    return built


def _name_of(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        return str(item.get("name") or str(item.get("_target_", "metric")).rsplit(".", 1)[-1])
    return type(item).__name__.lower()


def _build_one(item: Any, name: str, num_classes: int | None) -> Any:
    if hasattr(item, "update") and hasattr(item, "compute"):
        return item
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, Mapping):
        raise ConfigError(f"metric '{name}': expected a name, a spec or a torchmetrics Metric")
    kwargs = dict(item)
    if "_target_" in kwargs:
        return _construct(name, import_target(str(kwargs.pop("_target_"))), kwargs)
    key = str(kwargs.pop("name", name))
    if key not in METRICS:
        close = difflib.get_close_matches(key, list(METRICS), n=1)
        hint = f". Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"unknown metric '{key}'; available: {', '.join(METRICS)} "
            f"(or a _target_ dotted path){hint}"
        )
    path, classification = METRICS[key]
    if key == "accuracy":
        kwargs.setdefault("average", "micro")  # the fraction correct, what "accuracy" means
    module, _, cls = path.partition(":")
    factory = getattr(importlib.import_module(module), cls)
    if classification:
        kwargs.setdefault("num_classes", num_classes)
        if kwargs["num_classes"] is None:
            kwargs.pop("num_classes")
            return DeferredClassMetric(key, factory, kwargs)
    return _construct(name, factory, kwargs)


def _construct(name: str, factory: Any, kwargs: dict[str, Any]) -> Any:
    """`factory(**kwargs)`, its argument errors as one ConfigError naming the metric."""
    try:
        return factory(**kwargs)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"metric '{name}': {' '.join(str(error).split())}") from None


class DeferredClassMetric:
    """A classification metric built at its first update, with `num_classes = preds.shape[1]`."""

    def __init__(self, name: str, factory: Any, kwargs: dict[str, Any]) -> None:
        self.name, self.factory, self.kwargs = name, factory, kwargs
        self.metric: Any = None
        _construct(name, factory, {**kwargs, "num_classes": 2})  # bad arguments fail now

    def update(self, preds: Any, target: Any) -> None:
        if self.metric is None:
            if getattr(preds, "ndim", 0) < 2:
                raise ConfigError(
                    f"metric '{self.name}' needs num_classes: predictions of shape "
                    f"{tuple(getattr(preds, 'shape', ()))} have no class dimension; set it "
                    f"({{name: {self.name}, num_classes: 10}}) or give the data module num_classes"
                )
            self.metric = self.factory(num_classes=int(preds.shape[1]), **self.kwargs)
            self.metric.to(preds.device)
        self.metric.update(preds, target)

    def compute(self) -> Any:
        if self.metric is None:  # e.g. a process that got no evaluation batch of its own
            raise ConfigError(
                f"metric '{self.name}' saw no predictions, so it does not know num_classes; "
                f"set it ({{name: {self.name}, num_classes: 10}}) or give the data module "
                "num_classes"
            )
        return self.metric.compute()

    def reset(self) -> None:
        if self.metric is not None:
            self.metric.reset()

    def to(self, device: Any) -> DeferredClassMetric:
        if self.metric is not None:
            self.metric.to(device)
        return self
