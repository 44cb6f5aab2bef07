"""OpenVINO int8: NNCF's post-training quantization of an ONNX model, saved as an OpenVINO IR.

What a user on an x86 CPU would otherwise pick: OpenVINO's CPU plugin runs int8 convolutions
and MatMuls through oneDNN (VNNI / AMX where the CPU has them), and NNCF places the quantizers
by its own graph patterns. accel converts the same ONNX file ONNX Runtime quantizes
(`openvino.convert_model`), calibrates on the same batches, and writes `model.xml` +
`model.bin` (weights stay fp32 where not int8: no fp16 compression, so parity is int8's own).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from accel.compress.data import inputs_of
from accel.compress.extras import need
from accel.compress.passes.quantize_ort import feed_of, graph_inputs, saturates
from accel.core.errors import ConfigError

FEATURE = "OpenVINO int8 (NNCF)"
QUIET_LOGGERS = ("nncf", "torch.utils.cpp_extension")  # NNCF's import and progress chatter


def quantize_openvino(
    source: Path,
    output: Path,
    data: Iterable[Any] | None,
    *,
    limit: int = 16,
    transformer: bool = False,
    target: str = "x86",
    plain: bool = False,
) -> Path:
    """`source` (ONNX) quantized by NNCF on up to `limit` batches of `data`, written as the IR
    `output` (`.xml`, its `.bin` beside it; in the pass's work folder). `transformer` selects
    NNCF's transformer scheme (attention and LayerNorm inputs kept in float, as it advises).
    On a CPU whose int8 kernels saturate (no VNNI: `quantize_ort.saturates`) every layer's
    weights take 7 bits, as ONNX Runtime's do there. `plain`: activation ranges from min/max
    and no bias correction (NNCF's fast bias correction, fitted on a few batches, can move a
    small model's outputs: TinyResNet on digits, error 0.128 with it, 0.023 without)."""
    need("openvino", FEATURE)
    if data is None:
        raise ConfigError("OpenVINO int8 is calibrated: pass --calib-data NAME|PATH")
    names = graph_inputs(source)
    feeds = [feed_of(names, inputs_of(b)) for b in itertools.islice(iter(data), limit)]
    if not feeds:
        raise ConfigError("OpenVINO int8: the calibration data holds no batch")
    with quiet():
        import nncf
        import openvino as ov
        from nncf.quantization.range_estimator import RangeEstimatorParametersSet

        model = ov.convert_model(str(source))
        options: dict[str, Any] = {"subset_size": sum(len(next(iter(f.values()))) for f in feeds)}
        if transformer:
            options["model_type"] = nncf.ModelType.TRANSFORMER
        advanced: dict[str, Any] = {}
        if saturates(target):  # 7-bit weights in every layer, not only the first (NNCF's default)
            advanced["overflow_fix"] = nncf.OverflowFix.ENABLE
        if plain:
            advanced["disable_bias_correction"] = True
            advanced["activations_range_estimator_params"] = RangeEstimatorParametersSet.MINMAX
        if advanced:
            options["advanced_parameters"] = nncf.AdvancedQuantizationParameters(**advanced)
        quantized = nncf.quantize(model, nncf.Dataset(feeds), **options)
        ov.save_model(quantized, str(output), compress_to_fp16=False)  # and its .bin
    return output


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """NNCF's progress bars (printed) and log lines silenced: accel prints its own progress."""
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
