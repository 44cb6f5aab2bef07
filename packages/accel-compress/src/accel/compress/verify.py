"""Checks of a result against the original: relative output error and accuracy on real data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch

from accel.compress.artifacts import Runner
from accel.compress.data import inputs_of, targets_of
from accel.core.errors import AccelError

# Relative output error each pass may introduce before the gate refuses its result.
TOLERANCES: dict[str, float] = {
    "fold_bn": 1e-4,
    "merge_branches": 1e-4,
    "export": 1e-4,
    "quantize": 0.1,
}


class VerificationError(AccelError):
    """A result breaks its tolerance (output error or accuracy drop)."""


def relative_error(reference: torch.Tensor, output: torch.Tensor) -> float:
    """‖output − reference‖ / ‖reference‖ over the whole batch (0 means identical)."""
    reference, output = reference.float().flatten(), output.float().flatten()
    if reference.shape != output.shape:
        raise VerificationError(
            f"output shapes differ: {tuple(reference.shape)} vs {tuple(output.shape)}"
        )
    scale = reference.norm().clamp_min(1e-12)
    return float((output - reference).norm() / scale)


def output_error(before: Any, after: Any, inputs: Sequence[torch.Tensor]) -> float:
    """Relative error of `after`'s outputs against `before`'s over batches of real inputs."""
    if not inputs:
        raise VerificationError("no inputs to compare outputs on: give example or calibration data")
    run_before, run_after = Runner(before), Runner(after)
    reference = torch.cat([run_before(x) for x in inputs])
    output = torch.cat([run_after(x) for x in inputs])
    return relative_error(reference, output)


def accuracy(artifact: Any, data: Iterable[Any]) -> float:
    """Top-1 accuracy, a fraction in [0, 1] (as accel-core's metrics give it), of a classifier
    artifact over `(inputs, targets)` batches."""
    run = Runner(artifact)
    correct = total = 0
    for batch in data:
        logits = run(inputs_of(batch))
        targets = targets_of(batch)
        correct += int((logits.argmax(dim=1) == targets).sum())
        total += len(targets)
    if total == 0:
        raise VerificationError("evaluation data is empty")
    return correct / total


def check_tolerance(name: str, error: float, tolerance: float | None = None) -> str | None:
    """A one-line complaint when `error` exceeds the pass's tolerance, else None."""
    limit = TOLERANCES.get(name) if tolerance is None else tolerance
    if limit is None or error <= limit:
        return None
    return f"{name}: relative output error {error:.3g} exceeds its tolerance {limit:.3g}"


def drop_points(baseline: float, value: float) -> float:
    """How far accuracy fell, in percentage points (what --max-drop is given in)."""
    return 100.0 * (baseline - value)


def within_drop(baseline: float, value: float, max_drop: float) -> bool:
    """Whether accuracy fell by at most `max_drop` points (fractions in, points compared)."""
    return drop_points(baseline, value) <= max_drop + 1e-9  # 1e-9: 0.985 - 0.98 is 0.5000001


def check_drop(baseline: float, value: float, max_drop: float | None) -> str | None:
    """A one-line complaint when accuracy fell by more than `max_drop` points, else None."""
    if max_drop is None or within_drop(baseline, value, max_drop):
        return None
    return (
        f"accuracy fell {drop_points(baseline, value):.2f} pt ({percent(baseline)} -> "
        f"{percent(value)}), more than --max-drop {max_drop}"
    )


def percent(fraction: float | None) -> str:
    """`0.9861` -> `98.61%` (accuracy is a fraction everywhere but where it is printed)."""
    return "–" if fraction is None else f"{100.0 * fraction:.2f}%"
