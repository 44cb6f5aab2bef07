"""ONNX Runtime int8: static QDQ calibrated on real inputs, and dynamic for MatMul/Gemm."""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from accel.compress.atomic import atomic_path
from accel.compress.data import inputs_of
from accel.compress.signature import Inputs, as_tuple
from accel.core.errors import ConfigError


def batch_reader(input_names: list[str], data: Iterable[Any], limit: int) -> Any:
    """An ORT CalibrationDataReader over up to `limit` batches of real inputs, one feed entry
    per ONNX input by position (a class built here, so importing this module needs no
    onnxruntime: it is the `[ort]` extra)."""
    from onnxruntime.quantization import CalibrationDataReader

    feeds = [feed_of(input_names, inputs_of(b)) for b in itertools.islice(iter(data), limit)]

    class BatchReader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(feeds)

        def get_next(self) -> dict[str, Any] | None:
            return next(self._batches, None)

    return BatchReader()


def feed_of(input_names: list[str], inputs: Inputs) -> dict[str, Any]:
    """`{onnx input name: array}` for one batch (floats as float32, integers as they are)."""
    from accel.core.inference import to_numpy

    tensors = as_tuple(inputs)
    if len(tensors) != len(input_names):
        raise ConfigError(
            f"calibration batches hold {len(tensors)} input(s), the ONNX model takes "
            f"{len(input_names)} ({', '.join(input_names)}): give one array per input"
        )
    return {name: to_numpy(t) for name, t in zip(input_names, tensors, strict=True)}


def graph_inputs(path: Path) -> list[str]:
    """The names of an ONNX graph's inputs, in order (weights listed as inputs left out)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    return [i.name for i in graph.input if i.name not in weights]


def activation_types(target: str) -> tuple[Any, Any]:
    """(activation, weight) int8 types: u8/s8 on x86 (VNNI), s8/s8 on ARM."""
    from onnxruntime.quantization import QuantType

    if target == "arm64":
        return QuantType.QInt8, QuantType.QInt8
    return QuantType.QUInt8, QuantType.QInt8


def quantize_ort_static(
    source: Path, output: Path, data: Iterable[Any] | None, target: str, limit: int
) -> Path:
    """Pre-process (shape inference + optimisation), then static QDQ with per-channel weights."""
    from onnxruntime.quantization import QuantFormat, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    assert data is not None
    reader = batch_reader(graph_inputs(source), data, limit)
    activation, weight = activation_types(target)
    with tempfile.TemporaryDirectory() as folder, quiet_quantizer():
        prepared = Path(folder) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        with atomic_path(output) as temp:
            quantize_static(
                str(prepared),
                str(temp),
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=activation,
                weight_type=weight,
            )
    return output


def quantize_ort_dynamic(source: Path, output: Path) -> Path:
    """Dynamic int8 of MatMul/Gemm weights only: never ConvInteger, which is slow on CPUs."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with atomic_path(output) as temp, quiet_quantizer():
        quantize_dynamic(
            str(source),
            str(temp),
            op_types_to_quantize=["MatMul", "Gemm"],
            weight_type=QuantType.QInt8,
        )
    return output


@contextmanager
def quiet_quantizer() -> Iterator[None]:
    """ONNX Runtime's quantizer logs warnings on the root logger (one per LayerNorm weight it
    cannot quantize per channel, "consider pre-processing"): what it left in float the
    report says; its notes to developers are muted while it runs."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def count_ops(path: Path) -> dict[str, int]:
    """How many nodes of each op type an ONNX graph holds."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return dict(Counter(node.op_type for node in model.graph.node))
