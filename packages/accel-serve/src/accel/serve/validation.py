"""Check an Open Inference Protocol request against the model's signature, before inference.

Every refusal is a `ServeError` (HTTP 4xx) whose one line names the input, what the model
expects and what the request sent: `input 'x': expected shape [-1, 1, 8, 8], received [1, 64]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic_core import from_json

from accel.serve.errors import ServeError
from accel.serve.tensors import DATATYPES, TensorSpec, elements

MAX_DIMS = 8


def parse_json(body: bytes) -> Any:
    """The JSON body, or a 400 saying where it stops being JSON. Parsed by pydantic-core's
    parser (FastAPI's own), several times faster than the standard library's on the long
    number arrays tensors are."""
    if not body:
        raise ServeError(400, "body: empty; expected a JSON object")
    try:
        return from_json(body)
    except ValueError as error:
        raise ServeError(400, json_error(body, str(error))) from None


def json_error(body: bytes, reason: str) -> str:
    """The one line a body that is not JSON gets (worked out only when it is not)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "body: not UTF-8 text; expected a JSON object"
    if reason.startswith("recursion limit exceeded"):
        return "body: JSON nested too deeply"
    return f"body: not JSON ({' '.join(reason.split())[:120]})"


def infer_inputs(
    body: Any, specs: Sequence[TensorSpec], max_batch_rows: int
) -> tuple[dict[str, np.ndarray], int, list[str] | None]:
    """`(feed, rows, requested output names)` of a V2 infer request, checked."""
    if not isinstance(body, dict):
        raise ServeError(422, f"body: expected a JSON object, received {type(body).__name__}")
    tensors = body.get("inputs")
    if not isinstance(tensors, list) or not tensors:
        raise ServeError(422, "inputs: expected a non-empty list of tensors")
    wanted = {spec.name: spec for spec in specs}
    feed: dict[str, np.ndarray] = {}
    for i, tensor in enumerate(tensors):
        name = tensor.get("name") if isinstance(tensor, dict) else None
        if not isinstance(name, str):
            raise ServeError(422, f"inputs[{i}]: expected an object with a string name")
        if name not in wanted:
            raise ServeError(
                422, f"inputs[{i}]: unknown input {name!r:.60}; the model takes {', '.join(wanted)}"
            )
        if name in feed:
            raise ServeError(422, f"input {name!r}: given twice")
        feed[name] = input_array(tensor, wanted[name])
    missing = [name for name in wanted if name not in feed]
    if missing:
        raise ServeError(422, f"input {missing[0]!r}: missing; the model takes {', '.join(wanted)}")
    rows = check_rows(feed, specs, max_batch_rows)
    return feed, rows, output_names(body.get("outputs"))


def input_array(tensor: dict[str, Any], spec: TensorSpec) -> np.ndarray:
    """One input tensor as an array of the spec's dtype and shape, or a 422 naming it."""
    label = f"input {spec.name!r}"
    datatype = tensor.get("datatype")
    if datatype != spec.datatype:
        raise ServeError(
            422, f"{label}: expected datatype {spec.datatype}, received {datatype!s:.20}"
        )
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise ServeError(422, f"{label}: shape must be a list of up to {MAX_DIMS} sizes >= 0")
    received = tuple(shape)
    if not spec.fits(received):
        raise ServeError(
            422, f"{label}: expected shape {spec.shape_text()}, received {list(received)}"
        )
    data = tensor.get("data")
    if not isinstance(data, list):
        raise ServeError(422, f"{label}: data must be a list of numbers")
    array = numeric_array(data, spec, label)
    if array.size != elements(received):
        raise ServeError(
            422,
            f"{label}: shape {list(received)} needs {elements(received)} values, data holds "
            f"{array.size}",
        )
    return array.reshape(received)


def numeric_array(data: list[Any], spec: TensorSpec, label: str) -> np.ndarray:
    """`data` (flat or nested) as an array of the spec's dtype, numbers only: the protocol
    wants numbers, where numpy would turn the text "3" into 3 and null into NaN. numpy infers
    a numeric dtype only when every value is a number (text makes a text array, null or an
    integer beyond 64 bits an object array), so the common case is one C conversion with no
    Python loop over the values."""
    try:
        inferred = np.array(data)
    except (ValueError, TypeError, OverflowError):  # ragged nesting
        raise ServeError(
            422, f"{label}: data holds values that are not {spec.datatype} numbers"
        ) from None
    if inferred.dtype.kind in "biuf":
        return cast_numbers(inferred, spec, label)
    if inferred.dtype.kind == "O" and numbers_only(data):
        try:
            return np.array(data, dtype=spec.dtype)  # integers beyond 64 bits, checked by numpy
        except (ValueError, TypeError, OverflowError):
            pass
    raise ServeError(422, f"{label}: data must hold {spec.datatype} numbers only")


def cast_numbers(array: np.ndarray, spec: TensorSpec, label: str) -> np.ndarray:
    """`array` as the spec's dtype; integers must fit it (numpy's cast would wrap them)."""
    dtype = spec.dtype
    if dtype.kind in "iu" and array.size and array.dtype.kind != "b":
        info = np.iinfo(dtype)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ServeError(422, f"{label}: data holds NaN or infinity, not {spec.datatype}")
        if array.min() < info.min or array.max() > info.max:
            raise ServeError(
                422, f"{label}: data holds values outside {spec.datatype} [{info.min}, {info.max}]"
            )
    return array.astype(dtype, copy=False)


def numbers_only(data: list[Any]) -> bool:
    """numpy turns the text "3" into 3 and null into NaN: the protocol wants numbers."""
    stack = [data]
    while stack:
        for value in stack.pop():
            if isinstance(value, list):
                stack.append(value)
            elif not isinstance(value, int | float):  # bool is an int
                return False
    return True


def check_rows(feed: dict[str, np.ndarray], specs: Sequence[TensorSpec], limit: int) -> int:
    """The batch size the inputs share (1 for a model without a batch dimension)."""
    if not all(spec.batched for spec in specs):
        return 1
    rows = {name: array.shape[0] for name, array in feed.items()}
    if len(set(rows.values())) > 1:
        raise ServeError(422, f"inputs: batch sizes differ ({rows})")
    count = next(iter(rows.values()))
    if count == 0:
        raise ServeError(422, "inputs: the batch holds no rows")
    if count > limit:
        raise ServeError(413, f"inputs: {count} rows, more than the limit of {limit} per request")
    return count


def output_names(value: Any) -> list[str] | None:
    """The outputs a request asks for (`"outputs": [{"name": ...}]`), None for all."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in value
    ):
        raise ServeError(422, "outputs: expected a list of objects with a name")
    return [o["name"] for o in value]


def known_datatype(name: str) -> bool:
    return name in DATATYPES
