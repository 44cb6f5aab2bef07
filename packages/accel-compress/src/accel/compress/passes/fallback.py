"""Per-layer float fallback: when an int8 model breaks its budget, keep in float the layers that
cost the most, found by measurement, and quantize the rest.

Sensitivity is measured the direct way ("quantize one at a time"): the output error of the model
with only that layer quantized, on the same real inputs as every other check. Comparing QDQ
tensors inside one int8 model (ONNX Runtime's `qdq_loss_debug`) was tried first and misleads on
CNNs: the quantizer folds each ReLU into the range of the tensor before it, so the tensor's own
signal-to-noise ratio reads 1-3 dB where nothing is wrong, and floating the layers it ranked
worst left a MobileNetV3's error where it was (0.108 with 1 to 16 of them in float).

Quantization noise from different layers is close to independent, so its squares add: a set of
layers in float is predicted to leave `error * sqrt(1 - share)`, where `share` is their part of
the summed squared sensitivities. The search takes the smallest set of most sensitive layers
whose prediction meets the budget, then quantizes and measures it (the prediction only proposes;
a measurement decides), and widens the set while the measurement still breaks the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# What the prediction must reach below the budget before a set is measured (it is optimistic
# on deep networks, where noise from neighbouring layers partly adds up coherently).
PREDICT_MARGIN = 0.9
MAX_TRIALS = 8  # sets measured before the search gives up
MAX_FLOAT_SHARE = 0.5  # never more than half the quantized layers in float: that is not int8
GROWTH = 1.5  # a set that still breaks the budget grows by half (at least one layer)


@dataclass(frozen=True)
class Layer:
    """A quantized layer that can be kept in float: its graph node, op and float size cost."""

    node: str
    op: str
    extra_bytes: int = 0  # what keeping its weights in float adds to the file (fp32 - int8)


@dataclass
class Trial:
    """One set of layers in float, quantized and measured."""

    layers: int
    error: float
    within: bool
    accuracy: float | None = None


@dataclass
class FallbackResult:
    """The layers kept in float (most sensitive first), what they cost and what was measured."""

    error_before: float
    layers: list[tuple[Layer, float]] = field(default_factory=list)  # (layer, sensitivity)
    trials: list[Trial] = field(default_factory=list)
    probes: int = 0
    met: bool = False
    result: Any = None  # the quantized artifact of the last trial that met the budget

    def as_dict(self) -> dict[str, Any]:
        return {
            "error_before": self.error_before,
            "met": self.met,
            "probes": self.probes,
            "float_layers": [
                {**vars(layer), "sensitivity": sensitivity} for layer, sensitivity in self.layers
            ],
            "trials": [vars(t) for t in self.trials],
        }


@dataclass(frozen=True)
class Measured:
    """A quantized candidate and what was measured on it."""

    artifact: Any
    error: float
    within: bool
    accuracy: float | None = None


def search(
    layers: Sequence[Layer],
    error_before: float,
    probe: Callable[[Layer], float],
    trial: Callable[[list[Layer]], Measured],
    tolerance: float,
) -> FallbackResult:
    """Measure each layer's sensitivity with `probe` (the output error with only that layer
    quantized), then `trial` growing sets of the most sensitive layers in float until one is
    `within` the budget (output error within `tolerance`, and accuracy within its drop when
    that is checked), at most `MAX_TRIALS` sets and `MAX_FLOAT_SHARE` of the layers."""
    result = FallbackResult(error_before=error_before)
    sensitivity = {layer: probe(layer) for layer in layers}
    result.probes = len(sensitivity)
    order = sorted(layers, key=lambda layer: sensitivity[layer], reverse=True)
    total = sum(s * s for s in sensitivity.values())
    limit = max(1, int(len(order) * MAX_FLOAT_SHARE))
    size = min(first_size(order, sensitivity, total, error_before, tolerance), limit)
    while len(result.trials) < MAX_TRIALS:
        chosen = order[:size]
        measured = trial(chosen)
        result.trials.append(Trial(size, measured.error, measured.within, measured.accuracy))
        if measured.within:
            result.met, result.result = True, measured.artifact
            result.layers = [(layer, sensitivity[layer]) for layer in chosen]
            return result
        if size >= limit:
            break
        size = min(limit, max(size + 1, math.ceil(size * GROWTH)))
    result.layers = [(layer, sensitivity[layer]) for layer in order[:size]]
    return result


def first_size(
    order: Sequence[Layer],
    sensitivity: dict[Layer, float],
    total: float,
    error: float,
    tolerance: float,
) -> int:
    """The fewest most-sensitive layers whose float predicts an error within the margin."""
    if total <= 0.0:
        return 1
    removed = 0.0
    for count, layer in enumerate(order, start=1):
        removed += sensitivity[layer] ** 2
        if predicted(error, removed / total) <= PREDICT_MARGIN * tolerance:
            return count
    return len(order)


def predicted(error: float, share: float) -> float:
    """The error left when layers holding `share` of the squared sensitivity stay in float."""
    return error * math.sqrt(max(0.0, 1.0 - share))
