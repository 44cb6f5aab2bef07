"""The numeric-parity check every pass runs: relative output error on real inputs."""

from __future__ import annotations

from typing import Any

from accel.compress.data import take_inputs
from accel.compress.verify import check_tolerance, output_error
from accel.core.passes import PassContext, PassReport

PARITY_BATCHES = 4


def parity_inputs(context: PassContext) -> list[Any]:
    """Real inputs to compare on: a few calibration batches, else the example inputs."""
    inputs = take_inputs(context.calib_data, PARITY_BATCHES)
    if not inputs and context.example_inputs is not None:
        inputs = [context.example_inputs]
    return inputs


def record_parity(
    report: PassReport, before: Any, after: Any, context: PassContext, tolerance: float | None
) -> float:
    """Put the relative output error (and a note if it breaks the tolerance) in `report`."""
    error = output_error(before, after, parity_inputs(context))
    report.metrics["output_error"] = error
    problem = check_tolerance(report.name, error, tolerance)
    if problem:
        report.metrics["tolerance_broken"] = True
        report.notes.append(problem)
    return error
