"""Overload and graceful shutdown of a real server (server.py: backpressure, drain on SIGTERM)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from serve_helpers import Server, start_server

BODY = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [0.0] * 4}]}


@pytest.fixture
def slow_server(model_dir: Path, tmp_path: Path) -> Server:
    """Batches wait 400 ms to fill and at most 8 requests may wait: a burst overflows."""
    args = [str(model_dir / "v1"), "--max-batch", "64", "--max-wait-ms", "400",
            "--max-queue", "8", "--no-access-log"]  # fmt: skip
    return start_server(args, tmp_path / "server.log")


async def burst(url: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        return await asyncio.gather(*(client.post("/v2/models/v1/infer", json=BODY)
                                      for _ in range(count)))  # fmt: skip


@pytest.mark.slow
def test_a_burst_beyond_the_queue_gets_503_and_memory_stays_bounded(slow_server: Server) -> None:
    try:
        rss_before = slow_server.rss_kib()
        for _ in range(5):
            answers = asyncio.run(burst(slow_server.url, 100))
            codes = [a.status_code for a in answers]
            assert set(codes) <= {200, 503}, codes
            assert codes.count(200) >= 8
            assert codes.count(503) >= 50, codes.count(503)
            busy = next(a for a in answers if a.status_code == 503)
            assert busy.headers["retry-after"] == "1"
            assert "is busy" in busy.json()["error"]
        growth_mib = (slow_server.rss_kib("VmHWM") - rss_before) / 1024
        print(f"\nRSS before {rss_before / 1024:.1f} MiB, peak growth {growth_mib:.1f} MiB")
        assert growth_mib < 64
        with httpx.Client(base_url=slow_server.url) as client:
            assert client.get("/v2/health/ready").status_code == 200
            assert client.post("/v2/models/v1/infer", json=BODY).status_code == 200
    finally:
        slow_server.stop()


@pytest.mark.slow
def test_sigterm_turns_readiness_false_and_drains_in_flight_requests(slow_server: Server) -> None:
    answers: list[httpx.Response] = []

    def call() -> None:
        answers.append(httpx.post(slow_server.url + "/v2/models/v1/infer", json=BODY, timeout=30))

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.15)  # the request waits (400 ms) for its batch to fill
    slow_server.process.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    with httpx.Client(base_url=slow_server.url) as client:
        ready = client.get("/v2/health/ready")
        refused = client.post("/v2/models/v1/infer", json=BODY)
        live = client.get("/v2/health/live")
    worker.join(timeout=30)
    assert ready.status_code == 503
    assert ready.json() == {"ready": False}
    assert refused.status_code == 503
    assert "shutting down" in refused.json()["error"]
    assert live.status_code == 200
    assert [a.status_code for a in answers] == [200]  # the in-flight request was answered
    assert slow_server.process.wait(timeout=30) == 0
