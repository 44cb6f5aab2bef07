"""Metrics by name (torchmetrics), num_classes from data or predictions, bad names."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.classification import MulticlassAccuracy
from torchmetrics.regression import MeanAbsoluteError

from accel.core.errors import ConfigError
from accel.core.metrics import build_metrics


def test_names_and_specs_build_torchmetrics_objects() -> None:
    metrics = build_metrics(["accuracy", {"name": "mae"}], num_classes=4)
    assert isinstance(metrics["accuracy"], MulticlassAccuracy)
    assert metrics["accuracy"].num_classes == 4
    assert isinstance(metrics["mae"], MeanAbsoluteError)


def test_num_classes_is_inferred_from_the_first_predictions() -> None:
    accuracy = build_metrics(["accuracy"])["accuracy"]
    accuracy.update(torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]]), torch.tensor([1, 2]))
    assert accuracy.metric.num_classes == 3
    assert accuracy.compute().item() == pytest.approx(0.5)


def test_predictions_without_a_class_dim_ask_for_num_classes() -> None:
    accuracy = build_metrics(["accuracy"])["accuracy"]
    with pytest.raises(
        ConfigError, match=r"metric 'accuracy' needs num_classes: predictions of shape \(2,\)"
    ):
        accuracy.update(torch.tensor([1, 0]), torch.tensor([1, 2]))


def test_unknown_metric_lists_known_ones() -> None:
    with pytest.raises(
        ConfigError,
        match=r"unknown metric 'acuracy'; available: accuracy, f1, .*Did you mean 'accuracy'",
    ):
        build_metrics(["acuracy"])


def test_a_metric_by_dotted_path() -> None:
    metrics = build_metrics([{"_target_": "torchmetrics.regression.MeanSquaredError"}])
    assert type(metrics["MeanSquaredError"]).__name__ == "MeanSquaredError"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "accuracy", "num_classes": 0}, r"metric 'accuracy': .*num_classes.* got 0"),
        ({"name": "f1", "average": "weird"}, r"metric 'f1': .*average.* got weird"),
        ({"name": "mae", "nope": 1}, r"metric 'mae': .*nope"),
    ],
)
def test_bad_metric_arguments_fail_when_built_in_one_line(spec: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_metrics([spec])  # f1 without num_classes is deferred, yet checked now
