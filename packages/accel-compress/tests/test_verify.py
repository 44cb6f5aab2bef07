"""Relative output error, accuracy and the tolerance/drop checks."""

from __future__ import annotations

import pytest
import torch
from compress_models import MLP

from accel.compress.verify import (
    VerificationError,
    accuracy,
    check_drop,
    check_tolerance,
    output_error,
    relative_error,
)


def test_relative_error_is_zero_for_equal_and_scales_with_difference() -> None:
    a = torch.tensor([3.0, 4.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, a * 1.1) == pytest.approx(0.1)


def test_relative_error_refuses_different_shapes() -> None:
    with pytest.raises(VerificationError, match="output shapes differ"):
        relative_error(torch.zeros(3), torch.zeros(4))


def test_output_error_needs_inputs() -> None:
    with pytest.raises(VerificationError, match="no inputs to compare outputs on"):
        output_error(MLP(), MLP(), [])


def test_output_error_of_two_different_models_is_large() -> None:
    torch.manual_seed(0)
    assert output_error(MLP().eval(), MLP().eval(), [torch.randn(8, 1, 8, 8)]) > 0.1


def test_accuracy_of_the_trained_model(trained_mlp, digits) -> None:
    assert 0.9 < accuracy(trained_mlp, digits.test) <= 1.0  # a fraction, as core's metrics


def test_accuracy_of_empty_data() -> None:
    with pytest.raises(VerificationError, match="evaluation data is empty"):
        accuracy(MLP(), [])


def test_tolerance_and_drop_checks() -> None:
    assert check_tolerance("fold_bn", 1e-6) is None
    assert "exceeds its tolerance" in str(check_tolerance("fold_bn", 1e-2))
    assert check_tolerance("prune_search", 5.0) is None  # no tolerance: accuracy decides
    assert "exceeds its tolerance 0.1" in str(check_tolerance("prune", 0.5))  # not fine-tuned
    assert check_drop(0.99, 0.988, 0.5) is None  # fractions in, --max-drop in points
    assert check_drop(0.985, 0.98, 0.5) is None  # exactly 0.5 pt, despite float rounding
    assert str(check_drop(0.99, 0.98, 0.5)) == (
        "accuracy fell 1.00 pt (99.00% -> 98.00%), more than --max-drop 0.5"
    )
    assert check_drop(0.99, 0.10, None) is None
