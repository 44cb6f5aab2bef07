"""Flag values checked at the boundary: typed on success, one line with the valid range else."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.compress.options import (
    AnalyzeFlags,
    CompressFlags,
    check_analyze_options,
    check_options,
    check_shape,
    int8_mode,
)
from accel.core.errors import ConfigError


def test_valid_flags_come_back_typed() -> None:
    given = CompressFlags(prune="0.25", max_drop="0.5", input_shape="2,1,8,8", quantize="int8")
    checked = check_options(CompressFlags(**{**vars(given), "backend": "pt2e", "export": "pt2"}))
    assert checked.prune == 0.25
    assert checked.repeats == 10
    assert checked.epochs == 2
    assert checked.max_drop == 0.5
    assert checked.input_shape == (2, 1, 8, 8)
    assert checked.output == Path("compressed")
    assert check_options(CompressFlags(prune="auto")).prune == "auto"
    assert check_options(CompressFlags(epochs="0", max_drop="0")).epochs == 0


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("prune", "half", r"--prune 'half': expected a ratio .* in \(0, 1\)"),
        ("prune", "0", r"--prune '0': expected a ratio"),
        ("prune", "1", r"--prune '1': expected a ratio"),
        ("prune", "-0.5", r"--prune '-0.5'"),
        ("prune", "nan", r"--prune 'nan'"),
        ("repeats", "0", r"--repeats '0': expected a whole number in \[1, 1000\]"),
        ("repeats", "-5", r"--repeats '-5'"),
        ("repeats", "2.5", r"--repeats '2.5'"),
        ("epochs", "-1", r"--epochs '-1': expected a whole number in \[0, 10000\]"),
        ("max_drop", "nan", r"--max-drop 'nan': expected .* in \[0, 100\]"),
        ("max_drop", "-1", r"--max-drop '-1'"),
        ("max_drop", "inf", r"--max-drop 'inf'"),
        ("target", "mips", "--target 'mips' is not supported: use one of x86, arm64"),
        ("backend", "tensorrt", "--backend 'tensorrt' is not supported: use one of ort, openvino"),
        ("export", "tflite", "--export 'tflite' is not supported: use one of onnx, pt2"),
        ("quantize", "fp16", "--quantize 'fp16' is not supported: use one of int8"),
        ("input_shape", "1,0,8,8", "--input-shape '1,0,8,8': expected positive sizes"),
        ("input_shape", "8", "--input-shape '8': expected positive sizes"),
        ("input_shape", "5000,1,8,8", "expected a batch of at most 4096"),
        ("input_shape", "1,3,9000,9000", "samples of at most 16,777,216 elements"),
    ],
)
def test_a_bad_flag_is_one_line_with_the_valid_range(flag: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_options(CompressFlags(**{flag: value}))


def test_an_output_below_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"--output .*file/out: .*file is a file, not a folder"):
        check_options(CompressFlags(output=tmp_path / "file" / "out"))


def test_analyze_flags(tmp_path: Path) -> None:
    assert check_analyze_options(AnalyzeFlags(repeats="3", input_shape="1,8")).repeats == 3
    with pytest.raises(ConfigError, match=r"--repeats '0'"):
        check_analyze_options(AnalyzeFlags(repeats="0"))
    (tmp_path / "mine.json").write_text("{}")
    with pytest.raises(ConfigError, match="exists and was not written by accel"):
        check_analyze_options(AnalyzeFlags(repeats="3", output=tmp_path / "mine.json"))


def test_shapes_from_a_recipe_may_be_lists() -> None:
    assert check_shape([1, 3, 4, 4], "input_shape") == (1, 3, 4, 4)
    with pytest.raises(ConfigError, match="input_shape"):
        check_shape([1, True], "input_shape")


@pytest.mark.parametrize(
    ("requested", "backend", "calib_data", "mode"),
    [
        ("int8", "ort", None, "auto"),  # building a recipe: decided when the data is known
        ("int8-static", "ort", None, "static"),
        ("int8-dynamic", "pt2e", None, "dynamic"),
        ("int8", "ort", True, "static"),
        ("auto", "ort", False, "dynamic"),
        ("dynamic", "ort", True, "dynamic"),
        ("static", "pt2e", True, "static"),
        ("auto", "torchao", True, "dynamic"),
        ("static", "torchao", False, "dynamic"),
    ],
)
def test_int8_mode_is_decided_in_one_place(
    requested: str, backend: str, calib_data: bool | None, mode: str
) -> None:
    assert int8_mode(requested, backend, calib_data) == mode


@pytest.mark.parametrize(
    ("requested", "backend", "message"),
    [
        ("static", "ort", "static int8 needs calibration data: pass --calib-data"),
        ("int8", "pt2e", "backend 'pt2e' is static int8: pass --calib-data"),
        ("fp16", "ort", "quantize: mode 'fp16' is not one of auto, static, dynamic"),
    ],
)
def test_int8_mode_refuses_what_cannot_run(requested: str, backend: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        int8_mode(requested, backend, calib_data=False)
