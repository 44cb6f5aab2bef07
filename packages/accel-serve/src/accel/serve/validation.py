"""Check an Open Inference Protocol request against the model's signature, before inference.

Every refusal is a `ServeError` (HTTP 4xx) whose one line names the input, what the model
expects and what the request sent: `input 'x': expected shape [-1, 1, 8, 8], received [1, 64]`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from accel.serve.errors import ServeError
from accel.serve.tensors import DATATYPES, TensorSpec, elements

MAX_DIMS = 8


def parse_json(body: bytes) -> Any:
    """The JSON body, or a 400 saying where it stops being JSON."""
    if not body:
        raise ServeError(400, "body: empty; expected a JSON object")
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise ServeError(400, "body: not UTF-8 text; expected a JSON object") from None
    except json.JSONDecodeError as error:
        raise ServeError(400, f"body: not JSON ({error.msg} at character {error.pos})") from None
    except RecursionError:
        raise ServeError(400, "body: JSON nested too deeply") from None


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
    try:
        array = np.array(data, dtype=spec.dtype)
    except (ValueError, TypeError, OverflowError):
        raise ServeError(
            422, f"{label}: data holds values that are not {spec.datatype} numbers"
        ) from None
    if array.size != elements(received):
        raise ServeError(
            422,
            f"{label}: shape {list(received)} needs {elements(received)} values, data holds "
            f"{array.size}",
        )
    if not numbers_only(data):
        raise ServeError(422, f"{label}: data must hold {spec.datatype} numbers only")
    return array.reshape(received)


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
