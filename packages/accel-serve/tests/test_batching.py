"""The batcher with a real ONNX Runtime session, in one event loop (no HTTP)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from accel.serve.batching import Batcher
from accel.serve.errors import QueueFullError, ServeError
from accel.serve.runners import onnx_runner


def batcher(model_dir: Path, **options: float) -> Batcher:
    runner = onnx_runner(model_dir / "tabular" / "model.onnx", threads=1)
    seen: list[int] = []
    made = Batcher(
        name="tabular",
        runner=runner,
        max_batch=int(options.get("max_batch", 16)),
        max_wait_s=options.get("max_wait_s", 0.05),
        max_queue=int(options.get("max_queue", 64)),
        observe=lambda rows, seconds: seen.append(rows),
    )
    made.seen = seen  # type: ignore[attr-defined]
    return made


def test_concurrent_requests_run_as_one_batch_with_the_right_rows(model_dir: Path) -> None:
    rows = [np.random.default_rng(i).random((i % 3 + 1, 4), dtype=np.float32) for i in range(6)]

    async def main() -> list[dict[str, np.ndarray]]:
        b = batcher(model_dir)
        b.start()
        try:
            return await asyncio.gather(*(b.infer({"features": r}, len(r), 5) for r in rows))
        finally:
            await b.stop()
            assert b.seen == [sum(len(r) for r in rows)]  # type: ignore[attr-defined]

    outputs = asyncio.run(main())
    session = ort.InferenceSession(str(model_dir / "tabular" / "model.onnx"))
    for r, out in zip(rows, outputs, strict=True):
        np.testing.assert_allclose(out["output"], session.run(None, {"features": r})[0], rtol=1e-5)


def test_a_batch_never_exceeds_max_batch_rows(model_dir: Path) -> None:
    async def main() -> list[int]:
        b = batcher(model_dir, max_batch=4)
        b.start()
        x = np.zeros((1, 4), np.float32)
        await asyncio.gather(*(b.infer({"features": x}, 1, 5) for _ in range(10)))
        await b.stop()
        return b.seen  # type: ignore[attr-defined]

    sizes = asyncio.run(main())
    assert sum(sizes) == 10
    assert max(sizes) <= 4


def test_a_full_queue_refuses_at_once(model_dir: Path) -> None:
    async def main() -> None:
        b = batcher(model_dir, max_queue=2, max_wait_s=0.3, max_batch=64)
        b.start()
        x = np.zeros((1, 4), np.float32)
        first = [asyncio.ensure_future(b.infer({"features": x}, 1, 5)) for _ in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(QueueFullError, match="queue holds 2 requests") as refused:
            await b.infer({"features": x}, 1, 5)
        assert refused.value.status == 503
        assert refused.value.headers == {"Retry-After": "1"}
        await asyncio.gather(*first)
        await b.stop()

    asyncio.run(main())


def test_a_request_past_its_timeout_is_504_and_dropped(model_dir: Path) -> None:
    async def main() -> list[int]:
        b = batcher(model_dir, max_wait_s=0.3, max_batch=64)
        b.start()
        x = np.zeros((1, 4), np.float32)
        with pytest.raises(ServeError, match=r"did not answer within 0\.05 s") as late:
            await b.infer({"features": x}, 1, 0.05)
        assert late.value.status == 504
        await b.infer({"features": x}, 1, 5)
        await b.stop()
        return b.seen  # type: ignore[attr-defined]

    assert asyncio.run(main()) == [1]  # the timed-out request never ran
