"""Bad requests of every kind: each gets a 4xx with a one-line reason; the server stays up."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from PIL import Image
from serve_helpers import Server, png

INFER = "/v2/models/digits/infer"


def tensor(**changes: Any) -> dict[str, Any]:
    good = {"name": "x", "datatype": "FP32", "shape": [1, 1, 8, 8], "data": [0.0] * 64}
    good.update(changes)
    return {"inputs": [good]}


def jpeg_truncated() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()[:200]


def bad_requests() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, httpx keyword arguments) of requests that must be refused."""
    json_bodies: list[Any] = [
        tensor(shape=[1, 64]),
        tensor(shape=[1, 1, 8, 9]),
        tensor(shape=[1, 1, 8]),
        tensor(shape=[2, 1, 8, 8]),  # 64 values for 128
        tensor(shape="1,1,8,8"),
        tensor(shape=[1, 1, 8, -8]),
        tensor(shape=[1, 1, 8, True]),
        tensor(shape=[1] * 20),
        tensor(shape=[0, 1, 8, 8], data=[]),
        tensor(datatype="INT64"),
        tensor(datatype="FP64"),
        tensor(datatype="STRING"),
        tensor(datatype=None),
        tensor(data="zeros"),
        tensor(data=["a"] * 64),
        tensor(data=["1.5"] * 64),
        tensor(data=[None] * 64),
        tensor(data=[{"v": 1}] * 64),
        tensor(data=[[0.0] * 8] * 7 + [[0.0] * 9]),
        tensor(data=[0.0] * 63),
        tensor(name="y"),
        tensor(name=3),
        {"inputs": [tensor()["inputs"][0], tensor()["inputs"][0]]},
        {"inputs": []},
        {"inputs": "x"},
        {"inputs": [1, 2]},
        {"outputs": []},
        [1, 2, 3],
        "text",
        42,
        None,
        {**tensor(), "outputs": [{"name": "nope"}]},
        {**tensor(), "outputs": "output"},
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [5000, 1, 8, 8], "data": []}]},
    ]
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", INFER, {"json": body}) for body in json_bodies
    ]
    raw = [
        b"",
        b"{",
        b'{"inputs": [}',
        b"\xff\xfe\x00",
        b"[" * 100_000,
        b"NaN-ish",
        b'{"inputs": [{"name": "x"',
    ]
    requests += [("POST", INFER, {"content": body}) for body in raw]
    requests += [
        ("POST", "/v2/models/nope/infer", {"json": tensor()}),
        ("POST", "/v2/models/digits/versions/9/infer", {"json": tensor()}),
        ("GET", "/v2/models/nope", {}),
        ("GET", "/v2/models/nope/ready", {}),
        ("GET", INFER, {}),
        ("DELETE", "/v2/models/digits", {}),
        ("GET", "/no/such/route", {}),
        ("POST", "/predict", {"json": {"rows": [[1, 2, 3, 4]]}}),  # several models: which?
        ("POST", "/predict?model=digits", {"content": b"not an image",
                                           "headers": {"Content-Type": "image/png"}}),
        ("POST", "/predict?model=digits", {"content": jpeg_truncated(),
                                           "headers": {"Content-Type": "image/jpeg"}}),
        ("POST", "/predict?model=digits", {"files": {"image": ("a.gif", b"GIF89a....")}}),
        ("POST", "/predict?model=digits", {"files": {"other": ("a.png", png(np.zeros((8, 8),
                                                                              np.uint8)))}}),
        ("POST", "/predict?model=digits", {"json": {"rows": [[1]]}}),
        ("POST", "/predict?model=digits&top_k=0", {"content": png(np.zeros((8, 8), np.uint8)),
                                                   "headers": {"Content-Type": "image/png"}}),
        ("POST", "/predict?model=digits&top_k=abc", {"content": b"",
                                                     "headers": {"Content-Type": "image/png"}}),
        ("POST", "/predict?model=digits", {"content": png(np.zeros((3000, 3000), np.uint8)),
                                           "headers": {"Content-Type": "image/png"}}),
        ("POST", "/predict?model=masked", {"json": {"rows": [[1, 2, 3]]}}),
        ("POST", "/predict?model=tabular", {"json": {"rows": []}}),
        ("POST", "/predict?model=tabular", {"json": {"rows": [[1, 2, 3]]}}),
        ("POST", "/predict?model=tabular", {"json": {"rows": [[1, 2, "x", 4]]}}),
        ("POST", "/predict?model=tabular", {"json": {"rows": [[1, 2, True, 4]]}}),
        ("POST", "/predict?model=tabular", {"json": {"rows": [{"age": 1}]}}),
        ("POST", "/predict?model=tabular", {"json": {"rows": [{"age": 1, "height": 2,
                                            "weight": 3, "score": 4, "extra": 5}]}}),
        ("POST", "/predict?model=tabular", {"json": {"rows": [[0, 0, 0, 0]] * 2000}}),
        ("POST", "/predict?model=tabular", {"content": b"{oops"}),
        ("POST", "/predict?model=tabular&version=2", {"json": {"rows": [[1, 2, 3, 4]]}}),
        ("POST", INFER, {"content": b"x" * (9 << 20)}),  # over the 8 MiB body limit
    ]  # fmt: skip
    return requests


def test_at_least_50_bad_requests_each_get_a_4xx_with_one_line(server: Server) -> None:
    cases = bad_requests()
    assert len(cases) >= 50
    with server.client() as client:
        for method, path, kwargs in cases:
            answer = client.request(method, path, **kwargs)
            what = f"{method} {path} {str(kwargs)[:120]}"
            assert 400 <= answer.status_code < 500, f"{what}: {answer.status_code} {answer.text}"
            message = json.loads(answer.text)["error"]
            assert message, what
            assert "\n" not in message, what
            assert len(message) < 400, what
        assert client.get("/v2/health/ready").status_code == 200
        assert client.post(INFER, json=tensor()).status_code == 200
    assert server.process.poll() is None


def test_refusals_name_the_input_and_what_was_expected(server: Server) -> None:
    with server.client() as client:
        shape = client.post(INFER, json=tensor(shape=[1, 64])).json()["error"]
        dtype = client.post(INFER, json=tensor(datatype="INT64")).json()["error"]
        count = client.post(INFER, json=tensor(data=[0.0] * 63)).json()["error"]
    assert shape == "input 'x': expected shape [-1, 1, 8, 8], received [1, 64]"
    assert dtype == "input 'x': expected datatype FP32, received INT64"
    assert count == "input 'x': shape [1, 1, 8, 8] needs 64 values, data holds 63"
