"""ONNX Runtime int8: static QDQ calibrated on real inputs, and dynamic for MatMul/Gemm."""

from __future__ import annotations

import itertools
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from accel.compress.atomic import atomic_path
from accel.compress.data import inputs_of


def batch_reader(input_name: str, data: Iterable[Any], limit: int) -> Any:
    """An ORT CalibrationDataReader over up to `limit` batches of real inputs (a class built
    here, so importing this module needs no onnxruntime: it is the `[ort]` extra)."""
    from onnxruntime.quantization import CalibrationDataReader

    class BatchReader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(
                [
                    {input_name: inputs_of(b).detach().cpu().float().numpy()}
                    for b in itertools.islice(iter(data), limit)
                ]
            )

        def get_next(self) -> dict[str, Any] | None:
            return next(self._batches, None)

    return BatchReader()


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
    import onnx
    from onnxruntime.quantization import QuantFormat, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    assert data is not None
    input_name = onnx.load(str(source), load_external_data=False).graph.input[0].name
    reader = batch_reader(input_name, data, limit)
    activation, weight = activation_types(target)
    with tempfile.TemporaryDirectory() as folder:
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

    with atomic_path(output) as temp:
        quantize_dynamic(
            str(source),
            str(temp),
            op_types_to_quantize=["MatMul", "Gemm"],
            weight_type=QuantType.QInt8,
        )
    return output


def count_ops(path: Path) -> dict[str, int]:
    """How many nodes of each op type an ONNX graph holds."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return dict(Counter(node.op_type for node in model.graph.node))
