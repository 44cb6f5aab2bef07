"""A bounded load test on 127.0.0.1: every request answered, the metrics count them all.

The issue's 10,000 requests at concurrency 32 (about 20 s on a 2-core machine; the Python client
is the bottleneck, benchmarks/serve.py measures the server); `ACCEL_SERVE_LOAD=N` changes it.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

import httpx
import pytest
from serve_helpers import Server, metric

CONCURRENCY = 32
BODY = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 1, 8, 8], "data": [0.5] * 64}]}


async def load(url: str, headers: dict[str, str], total: int) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    codes: list[int] = []
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as c:
        remaining = iter(range(total))

        async def user() -> None:
            for _ in remaining:
                start = time.perf_counter()
                try:
                    answer = await c.post("/v2/models/digits/infer", json=BODY)
                    codes.append(answer.status_code)
                except httpx.HTTPError:
                    codes.append(0)
                latencies.append(time.perf_counter() - start)

        await asyncio.wait_for(asyncio.gather(*(user() for _ in range(CONCURRENCY))), 600)
    return latencies, codes


@pytest.mark.slow
def test_load_every_request_answered_and_counted(server: Server) -> None:
    total = int(os.environ.get("ACCEL_SERVE_LOAD", "10000"))
    labels = {"route": "infer", "model": "digits", "version": "1", "status": "200"}
    with server.client() as client:
        before = metric(client.get("/metrics").text, "accel_serve_requests_total", **labels)
    start = time.perf_counter()
    latencies, codes = asyncio.run(load(server.url, server.headers, total))
    seconds = time.perf_counter() - start
    with server.client() as client:
        text = client.get("/metrics").text
    errors = [c for c in codes if c != 200]
    assert len(codes) == total
    assert errors == []
    assert metric(text, "accel_serve_requests_total", **labels) - before == total
    cuts = statistics.quantiles(latencies, n=100)
    batches = metric(text, "accel_serve_batch_size_count", model="digits")
    rows = metric(text, "accel_serve_batch_size_sum", model="digits")
    print(
        f"\n{total} requests at concurrency {CONCURRENCY}: {total / seconds:.0f} req/s, "
        f"p50 {cuts[49] * 1e3:.1f} ms, p99 {cuts[98] * 1e3:.1f} ms, "
        f"mean batch {rows / batches:.1f} rows, load {os.getloadavg()[0]:.1f}"
    )
