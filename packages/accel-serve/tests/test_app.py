"""The routes of a real server: Open Inference Protocol, /predict, metrics, logs, token, CORS."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image
from serve_helpers import CLASSES, FEATURES, Server, metric, png


def test_health_live_needs_no_token_ready_does(server: Server) -> None:
    assert httpx.get(server.url + "/v2/health/live").json() == {"live": True}
    refused = httpx.get(server.url + "/v2/health/ready")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "bearer token" in refused.json()["error"]
    with server.client() as client:
        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.get("/v2/models/digits/ready").json() == {"name": "digits", "ready": True}


def test_wrong_token_is_refused_on_every_route(server: Server) -> None:
    wrong = {"Authorization": "Bearer nope"}
    for method, path in [("GET", "/metrics"), ("GET", "/"), ("GET", "/v2/models/digits"),
                         ("POST", "/v2/models/digits/infer"), ("POST", "/predict")]:  # fmt: skip
        assert httpx.request(method, server.url + path, headers=wrong).status_code == 401


def test_metadata_gives_the_signature_and_worker_model(server: Server) -> None:
    with server.client() as client:
        meta = client.get("/v2/models/digits").json()
    assert meta["name"] == "digits"
    assert meta["platform"] == "onnxruntime_onnx"
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 1, 8, 8]}]
    assert meta["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, 10]}]
    params = meta["parameters"]
    assert params["workers"] == 1
    assert params["intra_op_threads"] == 1
    assert params["preprocessing"]["kind"] == "image"
    assert params["preprocessing"]["labels"] == CLASSES


def test_infer_matches_onnx_runtime(server: Server, model_dir: Path) -> None:
    x = np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32)
    body = {"id": "r1", "inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 1, 8, 8],
                                    "data": x.ravel().tolist()}]}  # fmt: skip
    with server.client() as client:
        answer = client.post("/v2/models/digits/infer", json=body).json()
    session = ort.InferenceSession(str(model_dir / "digits" / "model.onnx"))
    expected = session.run(None, {"x": x})[0]
    (out,) = answer["outputs"]
    assert answer["id"] == "r1"
    assert answer["model_version"] == "1"
    assert out["shape"] == [3, 10]
    assert out["datatype"] == "FP32"
    np.testing.assert_allclose(np.array(out["data"]).reshape(3, 10), expected, rtol=1e-5, atol=1e-6)


def test_infer_two_inputs_of_two_dtypes(server: Server) -> None:
    body = {
        "inputs": [
            {"name": "mask", "datatype": "INT64", "shape": [2, 3], "data": [1, 0, 1, 0, 1, 0]},
            {"name": "x", "datatype": "FP32", "shape": [2, 3], "data": [[1, 2, 3], [4, 5, 6]]},
        ]
    }
    with server.client() as client:
        answer = client.post("/v2/models/masked/infer", json=body).json()
    assert answer["outputs"][0]["data"] == [1.0, 0.0, 3.0, 0.0, 5.0, 0.0]


def test_predict_image_applies_the_model_preprocessing(server: Server, model_dir: Path) -> None:
    pixels = (np.random.default_rng(1).random((16, 16)) * 255).astype(np.uint8)
    with server.client() as client:
        answer = client.post(
            "/predict?model=digits&top_k=3", files={"image": ("d.png", png(pixels), "image/png")}
        ).json()
        raw = client.post(
            "/predict?model=digits", content=png(pixels), headers={"Content-Type": "image/png"}
        ).json()
    resized = Image.fromarray(pixels).resize((8, 8), Image.Resampling.BILINEAR)
    x = (np.asarray(resized, dtype=np.float32) / 255.0)[None, None]
    logits = ort.InferenceSession(str(model_dir / "digits" / "model.onnx")).run(None, {"x": x})[0]
    scores = np.exp(logits[0] - logits[0].max())
    scores /= scores.sum()
    best = int(np.argmax(scores))
    top = answer["predictions"]
    assert len(top) == 3
    assert top[0]["index"] == best
    assert top[0]["label"] == CLASSES[best]
    assert top[0]["score"] == pytest.approx(float(scores[best]), abs=1e-5)
    assert raw["predictions"][0]["index"] == best
    assert len(raw["predictions"]) == 5
    assert answer["latency_ms"] > 0


def test_predict_tabular_rows_by_name_or_position(server: Server, model_dir: Path) -> None:
    rows = [[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 0.0, 2.0]]
    named = [dict(zip(FEATURES, row, strict=True)) for row in rows]
    with server.client() as client:
        by_name = client.post("/predict?model=tabular", json={"rows": named}).json()
        by_position = client.post("/predict?model=tabular&top_k=1", json={"rows": rows}).json()
    session = ort.InferenceSession(str(model_dir / "tabular" / "model.onnx"))
    expected = session.run(None, {"features": np.array(rows, np.float32)})[0].argmax(1)
    assert [p[0]["index"] for p in by_name["predictions"]] == expected.tolist()
    assert [p[0]["label"] for p in by_position["predictions"]] == [
        ["low", "mid", "high"][i] for i in expected
    ]
    assert all(len(p) == 1 for p in by_position["predictions"])


def test_metrics_count_requests_by_model_and_status(server: Server) -> None:
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 1, 8, 8], "data": [0] * 64}]}
    with server.client() as client:
        before = client.get("/metrics").text
        for _ in range(5):
            assert client.post("/v2/models/digits/infer", json=body).status_code == 200
        client.post("/v2/models/digits/infer", json={"inputs": []})
        after = client.get("/metrics").text
    labels = {"route": "infer", "model": "digits", "version": "1"}
    ok = metric(after, "accel_serve_requests_total", status="200", **labels)
    assert ok - metric(before, "accel_serve_requests_total", status="200", **labels) == 5
    bad = metric(after, "accel_serve_requests_total", status="422", **labels)
    assert bad - metric(before, "accel_serve_requests_total", status="422", **labels) == 1
    for name in ("accel_serve_batch_size_count", "accel_serve_inference_duration_seconds_count",
                 "accel_serve_request_duration_seconds_count"):  # fmt: skip
        assert metric(after, name, model="digits") > metric(before, name, model="digits")
    assert metric(after, "accel_serve_model_load_seconds", model="digits") > 0
    assert "accel_serve_queue_depth{" in after
    assert metric(after, "accel_serve_ready") == 1


def test_access_log_is_one_json_line_per_request(server: Server) -> None:
    with server.client() as client:
        client.get("/v2/models/digits", headers={"X-Test": "log"})
        client.get("/v2/models/nope")
    deadline = time.monotonic() + 5  # a line is written just after its response is sent
    while True:
        lines = server.log_lines()
        seen = [line for line in lines if line.get("path") == "/v2/models/nope"]
        if seen or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert seen
    assert seen[-1]["status"] == 404
    assert seen[-1]["model"] == ""
    assert "unknown model 'nope'" in str(seen[-1]["error"])
    assert any(line.get("route") == "model_metadata" and line["status"] == 200 for line in lines)


def test_cors_is_off_unless_asked(server: Server) -> None:
    with server.client() as client:
        answer = client.get("/v2/health/live", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in answer.headers


def test_a_50_mb_body_is_refused_unread(server: Server) -> None:
    with server.client() as client:
        answer = client.post(
            "/v2/models/digits/infer",
            content=b"[" * (50 << 20),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 413
        assert "limit" in answer.json()["error"]
    with server.client() as client:
        assert client.get("/v2/health/ready").status_code == 200


def test_one_process_serves_with_pinned_threads(server: Server) -> None:
    """The worker model: one process (no forked workers), ORT pinned to --threads 1."""
    children = list(Path(f"/proc/{server.process.pid}/task").iterdir())
    procs = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    parents = []
    for proc in procs:
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server.process.pid:
            parents.append(proc.name)
    assert parents == [], f"the server forked worker processes {parents}"
    assert len(children) < 40, f"{len(children)} threads: intra-op pools are not pinned"
    assert os.path.exists(f"/proc/{server.process.pid}")


def test_page_offers_the_models_and_calls_the_routes(server: Server) -> None:
    with server.client() as client:
        page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    for name in ("digits", "tabular", "masked"):
        assert f'<option value="{name}">' in text
    assert "/predict" in text
    assert "/infer" in text
    assert "Authorization" in text
    assert "http://" not in text
    assert "https://" not in text


def test_split_sends_about_the_weights_to_each_version(split_server: Server) -> None:
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [0] * 4}]}
    versions: dict[str, int] = {}
    values: dict[str, float] = {}
    with split_server.client() as client:
        for _ in range(400):
            answer = client.post("/v2/models/ab/infer", json=body).json()
            versions[answer["model_version"]] = versions.get(answer["model_version"], 0) + 1
            values[answer["model_version"]] = answer["outputs"][0]["data"][0]
        pinned = client.post("/v2/models/ab/versions/v2/infer", json=body).json()
        text = client.get("/metrics").text
        meta = client.get("/v2/models/ab").json()
    assert set(versions) == {"v1", "v2"}
    assert 300 <= versions["v1"] <= 390, versions  # 360 expected, sd 6
    assert values == {"v1": 5.0, "v2": 7.0}  # each version's own model answered
    assert pinned["model_version"] == "v2"
    counted = metric(text, "accel_serve_requests_total", route="infer", version="v2")
    assert counted == versions["v2"] + 1
    assert meta["versions"] == ["v1", "v2"]
    assert meta["parameters"]["split"] == {
        "v1": 0.9,
        "v2": 0.1,
    }
