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
    "prune": 0.1,  # applies to a pruned model that was not fine-tuned (see pipeline.py)
}
SAME_ROWS = 1e-6  # rows of an output closer than this (relative) are "the same for every input"


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


def outputs(artifact: Any, inputs: Sequence[Any]) -> torch.Tensor:
    """`artifact`'s main output over every batch of `inputs`, concatenated."""
    if not inputs:
        raise VerificationError("no inputs to compare outputs on: give example or calibration data")
    run = Runner(artifact)
    return torch.cat([run(x) for x in inputs])


def output_error(before: Any, after: Any, inputs: Sequence[Any]) -> float:
    """Relative error of `after`'s outputs against `before`'s over batches of real inputs;
    infinite when `after` gives NaN or inf (no tolerance can pass it)."""
    error, _ = compare_outputs(before, after, inputs)
    return error


def compare_outputs(before: Any, after: Any, inputs: Sequence[Any]) -> tuple[float, str | None]:
    """The relative output error, and why `after`'s outputs are degenerate (NaN or inf, or
    the same for every input where `before`'s are not), or None: a model whose output
    collapsed can be close to a reference in norm and still be useless."""
    reference, output = outputs(before, inputs), outputs(after, inputs)
    problem = degenerate(output)
    if problem and not degenerate(reference):
        error = relative_error(reference, torch.nan_to_num(output))
        return (float("inf") if "NaN" in problem else error), problem
    return relative_error(reference, output), None


def degenerate(output: torch.Tensor) -> str | None:
    """Why `output` (rows: the inputs) says nothing about its inputs, or None."""
    if not bool(torch.isfinite(output).all()):
        return "the output holds NaN or inf"
    rows = output.float().reshape(len(output), -1)
    if len(rows) < 2:
        return None
    spread = (rows - rows[:1]).abs().max()
    if float(spread) <= SAME_ROWS * max(float(rows.abs().max()), 1e-12):
        return "the output is the same for every input"
    return None


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
