"""Checking V2 infer bodies against a signature: numbers only, the right dtype, one-line errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from accel.serve.errors import ServeError
from accel.serve.tensors import TensorSpec
from accel.serve.validation import infer_inputs, parse_json

IMAGE = TensorSpec(name="x", datatype="FP32", shape=(None, 1, 2, 2))


def body(spec: TensorSpec, shape: list[int], data: Any, datatype: str | None = None) -> Any:
    tensor = {"name": spec.name, "datatype": datatype or spec.datatype, "shape": shape}
    return {"inputs": [{**tensor, "data": data}]}


def feed_of(spec: TensorSpec, shape: list[int], data: Any) -> np.ndarray:
    feed, _, _ = infer_inputs(body(spec, shape, data), [spec], 64)
    return feed[spec.name]


def test_flat_and_nested_data_become_the_specs_dtype_in_row_major_order() -> None:
    flat = feed_of(IMAGE, [1, 1, 2, 2], [0.5, 1, 2.25, True])
    nested = feed_of(IMAGE, [1, 1, 2, 2], [[[[0.5, 1], [2.25, 1]]]])
    assert flat.dtype == np.float32
    assert flat.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(flat.ravel(), [0.5, 1.0, 2.25, 1.0])
    np.testing.assert_array_equal(nested, flat)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (["1.5", 1, 2, 3], "numbers only"),
        ([None, 1, 2, 3], "numbers only"),
        ([{"v": 1}, 1, 2, 3], "numbers only"),
        ([[1, 2], [3]], "not FP32 numbers"),
        ([1, 2, 3], "needs 4 values, data holds 3"),
    ],
)
def test_data_that_is_not_numbers_of_the_shape_is_refused(data: Any, reason: str) -> None:
    with pytest.raises(ServeError, match=reason) as refused:
        feed_of(IMAGE, [1, 1, 2, 2], data)
    assert refused.value.status == 422
    assert str(refused.value).startswith("input 'x': ")


def test_integers_that_do_not_fit_the_dtype_are_refused_not_wrapped() -> None:
    small = TensorSpec(name="ids", datatype="INT8", shape=(None, 2))
    unsigned = TensorSpec(name="ids", datatype="UINT8", shape=(None, 2))
    assert feed_of(small, [1, 2], [-128, 127]).tolist() == [[-128, 127]]
    with pytest.raises(ServeError, match=r"outside INT8 \[-128, 127\]"):
        feed_of(small, [1, 2], [1, 300])
    with pytest.raises(ServeError, match=r"outside UINT8 \[0, 255\]"):
        feed_of(unsigned, [1, 2], [-1, 3])
    with pytest.raises(ServeError, match="NaN or infinity"):
        feed_of(TensorSpec(name="ids", datatype="INT64", shape=(None, 2)), [1, 2], [1.0, 1e999])


def test_integers_beyond_64_bits_still_reach_a_float_input() -> None:
    wide = TensorSpec(name="x", datatype="FP64", shape=(None, 2))
    assert feed_of(wide, [1, 2], [2**70, 1]).tolist() == [[float(2**70), 1.0]]


def test_booleans_are_numbers_for_a_bool_input() -> None:
    mask = TensorSpec(name="mask", datatype="BOOL", shape=(None, 3))
    assert feed_of(mask, [1, 3], [True, False, 1]).tolist() == [[True, False, True]]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "body: empty; expected a JSON object"),
        (b"{", "body: not JSON (EOF while parsing an object at line 1 column 1)"),
        (b'{"inputs": [}', "body: not JSON (expected value at line 1 column 13)"),
        (b"\xff\xfe\x00", "body: not UTF-8 text; expected a JSON object"),
        (b"[" * 100_000, "body: JSON nested too deeply"),
    ],
)
def test_a_body_that_is_not_json_is_one_line_naming_where(raw: bytes, message: str) -> None:
    with pytest.raises(ServeError) as refused:
        parse_json(raw)
    assert (refused.value.status, str(refused.value)) == (400, message)


def test_json_numbers_and_nan_parse_as_the_standard_library_reads_them() -> None:
    assert parse_json(b'{"a": [1, 2.5, -3e2, NaN], "b": "\xc3\xa9"}')["b"] == "é"
    values = parse_json(b'{"a": [1, 2.5, -3e2, NaN]}')["a"]
    assert values[:3] == [1, 2.5, -300.0]
    assert isinstance(values[0], int)
    assert np.isnan(values[3])
