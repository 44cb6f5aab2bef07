"""OpenVINO + NNCF int8: the IR written, checked in a fresh OpenVINO runtime, and the errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
import torch
from typer.testing import CliRunner

from accel.compress.analysis import count_params, onnx_param_count, size_on_disk
from accel.compress.artifacts import OpenVinoModel
from accel.compress.cli import app
from accel.compress.passes.quantize import Quantize
from accel.compress.verify import accuracy
from accel.core.errors import ConfigError
from accel.core.inference import predictor
from accel.core.passes import PassContext


def fresh_run(xml: Path, x: np.ndarray) -> np.ndarray:
    """`xml` compiled by a new OpenVINO core (nothing of accel's), run on `x`."""
    compiled = ov.Core().compile_model(str(xml), "CPU")
    return np.asarray(compiled(x)[compiled.output(0)])


def int8_ops(xml: Path) -> int:
    """Quantize/dequantize points in an IR (NNCF writes them as FakeQuantize)."""
    model = ov.Core().read_model(str(xml))
    return sum(op.get_type_name() in ("FakeQuantize", "FakeConvert") for op in model.get_ops())


def test_openvino_int8_is_an_ir_close_to_float(resnet, digits, tmp_path: Path) -> None:
    context = PassContext(
        example_inputs=digits.example, calib_data=digits.calib, output_dir=tmp_path
    )
    result = Quantize(backend="openvino")(resnet, context)
    assert isinstance(result, OpenVinoModel)
    assert [p.suffix for p in result.files()] == [".xml", ".bin"]
    assert all(p.is_file() for p in result.files())
    assert int8_ops(result.path) > 0
    got = fresh_run(result.path, digits.x_test.numpy())
    with torch.no_grad():
        want = resnet(digits.x_test).numpy()
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 0.1
    assert accuracy(resnet, digits.test) - accuracy(result, digits.test) <= 0.01
    report = context.reports[-1]
    assert report.metrics["backend"] == "openvino"
    assert report.metrics["output_error"] < 0.1
    exported = tmp_path / "model.fp32.onnx"  # what NNCF quantized (BatchNorm folded)
    assert count_params(result) == onnx_param_count(exported)  # int8 keeps every weight
    weights = result.files()[1].stat().st_size  # the .bin: int8 weights, fp32 scales
    assert weights < 1.2 * count_params(result)
    assert size_on_disk(result) == weights + result.path.stat().st_size


def test_accel_core_runs_an_ir_like_any_model(resnet, digits, tmp_path: Path) -> None:
    context = PassContext(
        example_inputs=digits.example, calib_data=digits.calib, output_dir=tmp_path
    )
    result = Quantize(backend="openvino")(resnet, context)
    x = digits.x_test[:5]
    out = predictor(result.path, threads=1)(x)
    assert out.shape == (5, 10)
    np.testing.assert_allclose(out.numpy(), fresh_run(result.path, x.numpy()), atol=1e-5)


def test_cli_backend_openvino_writes_model_xml(tiny, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [tiny.program, "--quantize", "int8", "--backend", "openvino"]
    # --force: on a model this small int8 is slower than float and the speed gate drops it
    args += ["--calib-data", tiny.calib, "--repeats", "1", "--force", "-q", "-o", out]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert (out / "model.xml").is_file()
    assert (out / "model.bin").is_file()
    assert not (out / "model.onnx").exists()
    report = json.loads((out / "report.json").read_text())
    assert report["outputs"]["openvino"] == "model.xml"
    assert report["final"]["analysis"]["latency"]["1"]["runtime"] == "openvino"
    x = np.load(tiny.calib)[:4]
    program = torch.export.load(str(tiny.program)).module()
    want = program(torch.from_numpy(x)).detach().numpy()
    got = fresh_run(out / "model.xml", x)
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 0.1


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], "quantize backend 'openvino' is static int8: pass --calib-data"),
        (["--calib-data", "CALIB", "--export", "onnx"], "its result is an OpenVINO IR"),
        (["--calib-data", "CALIB", "--calibration", "entropy"], "use backend 'ort'"),
    ],
)
def test_cli_backend_openvino_errors_are_one_line(
    tiny, tmp_path: Path, extra: list[str], expected: str
) -> None:
    extra = [str(tiny.calib) if a == "CALIB" else a for a in extra]
    args = [str(tiny.program), "--quantize", "int8", "--backend", "openvino", *extra]
    result = CliRunner().invoke(app, [*args, "-q", "-o", str(tmp_path / "out")])
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert expected in lines[0]
    assert not (tmp_path / "out").exists()


def test_openvino_needs_calibration_data(resnet, digits, tmp_path: Path) -> None:
    context = PassContext(example_inputs=digits.example, output_dir=tmp_path)
    with pytest.raises(ConfigError, match="--calib-data"):
        Quantize(backend="openvino")(resnet, context)
