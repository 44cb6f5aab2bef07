"""Dynamic batching: requests to one model are queued and run together.

One loop per model takes the first waiting request, then gathers more until the batch holds
`max_batch` rows or `max_wait_s` has passed since it started gathering, stacks their inputs
along the batch dimension and runs them in one call on the model's own inference thread. While
a batch runs, new requests wait, so under load batches form by themselves, even with a
`max_wait_s` of zero. Requests whose other dimensions differ (a dynamic sequence length) wait
for a batch of their own shape.

Backpressure: at most `max_queue` requests wait (gathered ones included); one more is refused
at once (`QueueFullError`, HTTP 503 with Retry-After), so memory stays bounded however hard
the server is pushed. A request that waits longer than its timeout is answered 504 and
dropped from its batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accel.serve.errors import QueueFullError, ServeError
from accel.serve.runners import Runner, flat

Feed = dict[str, np.ndarray]
Observer = Callable[[int, float], None]  # (rows in the batch, seconds of inference)


@dataclass(eq=False)
class Pending:
    feed: Feed
    rows: int
    future: asyncio.Future[Feed]
    key: tuple[Any, ...] = field(default=())


class Batcher:
    """Queue, gather and run the requests of one model version (see the module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        runner: Runner,
        max_batch: int,
        max_wait_s: float,
        max_queue: int,
        observe: Observer | None = None,
    ) -> None:
        self.name, self.runner = name, runner
        batched = bool(runner.inputs) and all(spec.batched for spec in runner.inputs)
        self.max_batch = max_batch if batched else 1
        self.max_wait_s, self.max_queue = max_wait_s, max_queue
        self.observe = observe
        self.waiting: deque[Pending] = deque()
        self.arrived = asyncio.Event()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"infer-{name}")
        self.task: asyncio.Task[None] | None = None
        self.batches = 0

    @property
    def depth(self) -> int:
        """Requests waiting (not yet running)."""
        return len(self.waiting)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.loop(), name=f"batch-{self.name}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        for item in self.waiting:
            if not item.future.done():
                item.future.set_exception(ServeError(503, "the server is shutting down"))
        self.executor.shutdown(wait=True)

    async def infer(self, feed: Feed, rows: int, timeout_s: float) -> Feed:
        """The model's outputs for these (validated) inputs, run in some batch."""
        if len(self.waiting) >= self.max_queue:
            raise QueueFullError(self.name, self.max_queue)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Feed] = loop.create_future()
        key = tuple(array.shape[1:] for array in feed.values())
        self.waiting.append(Pending(feed=feed, rows=rows, future=future, key=key))
        self.arrived.set()
        # one timer per request, not `asyncio.wait_for` (a task and two futures more): an
        # expired future is answered 504 and skipped by the batch it waits in
        timer = loop.call_later(timeout_s, self.expire, future, timeout_s)
        try:
            return await future
        finally:
            timer.cancel()

    def expire(self, future: asyncio.Future[Feed], timeout_s: float) -> None:
        if not future.done():
            future.set_exception(
                ServeError(
                    504, f"model {self.name!r} did not answer within {timeout_s:g} s (--timeout-s)"
                )
            )

    async def run_once(self, feed: Feed) -> Feed:
        """Run `feed` directly on the inference thread (the warm-up)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.runner.run, feed)

    async def loop(self) -> None:
        while True:
            batch = await self.gather()
            if batch:
                await self.run_batch(batch)

    async def gather(self) -> list[Pending]:
        """The next batch: requests of the first one's shape, up to max_batch rows."""
        while not self.waiting:
            self.arrived.clear()
            await self.arrived.wait()
        deadline = time.monotonic() + self.max_wait_s
        while True:
            batch, rows = self.take()
            remaining = deadline - time.monotonic()
            if rows >= self.max_batch or remaining <= 0:
                break
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        for item in batch:
            self.waiting.remove(item)
        return [item for item in batch if not item.future.done()]  # timed-out ones dropped

    def take(self) -> tuple[list[Pending], int]:
        """The waiting requests that fit one batch (first come, first served)."""
        batch: list[Pending] = []
        rows = 0
        for item in self.waiting:
            if item.future.done():
                batch.append(item)  # removed with the batch, never run
                continue
            if batch and (item.key != batch[0].key or rows + item.rows > self.max_batch):
                continue
            batch.append(item)
            rows += item.rows
            if rows >= self.max_batch:
                break
        return batch, rows

    async def run_batch(self, batch: list[Pending]) -> None:
        feed = stack([item.feed for item in batch])
        rows = sum(item.rows for item in batch)
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        try:
            outputs = await loop.run_in_executor(self.executor, self.runner.run, feed)
        except Exception as error:
            failure = ServeError(500, f"inference failed in model {self.name!r}: {flat(error)}")
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(failure)
            return
        seconds = time.perf_counter() - start
        self.batches += 1
        if self.observe is not None:
            self.observe(rows, seconds)
        for item, part in zip(batch, split(outputs, [i.rows for i in batch], rows), strict=True):
            if not item.future.done():
                item.future.set_result(part)


def stack(feeds: list[Feed]) -> Feed:
    if len(feeds) == 1:
        return feeds[0]
    return {name: np.concatenate([f[name] for f in feeds]) for name in feeds[0]}


def split(outputs: Feed, counts: list[int], rows: int) -> list[Feed]:
    """Each request's share of the batch outputs (an output without the batch dimension is
    given whole to each)."""
    if len(counts) == 1:
        return [outputs]
    bounds = np.cumsum(counts)[:-1]
    parts: list[Feed] = [{} for _ in counts]
    for name, array in outputs.items():
        pieces = (
            np.split(array, bounds)
            if array.ndim and array.shape[0] == rows
            else [array] * len(counts)
        )
        for part, piece in zip(parts, pieces, strict=True):
            part[name] = piece
    return parts
