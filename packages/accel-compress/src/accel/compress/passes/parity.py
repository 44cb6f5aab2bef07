"""The numeric-parity check every pass runs: relative output error on real inputs."""

from __future__ import annotations

from typing import Any

from accel.compress.data import take_inputs
from accel.compress.verify import check_tolerance, compare_outputs
from accel.core.passes import PassContext, PassReport

PARITY_BATCHES = 4


def parity_inputs(context: PassContext) -> list[Any]:
    """Real inputs to compare on: a few batches of the evaluation data (held out: int8 fitted
    its ranges to the calibration data, where its error reads low — a MobileNetV3 read 0.095
    on its calibration photos and 0.20 on others), else the calibration data, else the
    training data; the example inputs (random only when no data was given) last. Every check
    of a run (each pass's, the gate's) uses the same inputs."""
    for data in (context.val_data, context.calib_data, context.train_data):
        inputs = take_inputs(data, PARITY_BATCHES)
        if inputs:
            return inputs
    return [] if context.example_inputs is None else [context.example_inputs]


def record_parity(
    report: PassReport, before: Any, after: Any, context: PassContext, tolerance: float | None
) -> float:
    """Put the relative output error (and a note if it breaks the tolerance, or the output
    collapsed: NaN, or the same for every input) in `report`."""
    error, collapsed = compare_outputs(before, after, parity_inputs(context))
    report.metrics["output_error"] = error
    problem = check_tolerance(report.name, error, tolerance)
    if collapsed:
        problem = f"{report.name}: {collapsed} where the original's is not: no tolerance passes it"
    if problem:
        report.metrics["tolerance_broken"] = True
        report.notes.append(problem)
    return error
