"""Measure a model once, the same way for every accel command: parameters, MACs, bytes of its
weights or files, and latency on this machine (imports torch).

`accel analyze-model`, `accel compress` and the pipeline report these figures; a command that
needs another measure adds it here rather than keeping its own copy (two copies drift).
"""

from accel.core.analysis.counts import MacCount, count_macs, count_parameters, trace_macs
from accel.core.analysis.latency import Comparison, Latency, compare_latency, measure_latency
from accel.core.analysis.size import file_bytes, state_bytes

__all__ = [
    "Comparison",
    "Latency",
    "MacCount",
    "compare_latency",
    "count_macs",
    "count_parameters",
    "file_bytes",
    "measure_latency",
    "state_bytes",
    "trace_macs",
]
