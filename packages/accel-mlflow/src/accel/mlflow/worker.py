"""The background sender: a bounded queue in front, the spool and the replayer behind.

The training thread only ever calls `submit`, which never waits: a full queue spills the
record straight to the spool file. The worker drains the queue, merges metrics into one
record, appends to the spool (the write-ahead log), then replays the spool when the server
is believed to be up, backing off while it is not.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from typing import Any

from accel.mlflow.replay import Replayer, wait_time
from accel.mlflow.sanitize import sanitize_key
from accel.mlflow.spool import Record, Spool
from accel.mlflow.transient import ServerUnavailable

log = logging.getLogger(__name__)


class _Flush:
    """A marker asking the worker to write and send everything queued before it."""

    def __init__(self) -> None:
        self.written = threading.Event()
        self.done = threading.Event()
        self.sent = False


class Worker(threading.Thread):
    """Sends a run's records in the background; see the module docstring."""

    def __init__(
        self,
        replayer: Replayer,
        *,
        queue_size: int = 10_000,
        interval: float = 1.0,
        health: Any = None,
    ) -> None:
        super().__init__(name="accel-mlflow-sender", daemon=True)
        self.replayer = replayer
        self.spool: Spool = replayer.spool
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.interval = interval
        self.health = health
        self.online = True
        self.failures = 0
        self.next_attempt = 0.0
        self.history: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._keys: dict[str, str] = {}
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._high_water = max(1, queue_size // 2)

    def submit(self, record: Record) -> None:
        """Queue a record without ever blocking; a full queue spills it to the spool."""
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.spool.append([self._prepare([record])[0]])
            return
        if self.queue.qsize() >= self._high_water:
            self._wake.set()  # half full: send now rather than at the next tick

    def flush(self, timeout: float, *, send: bool = True) -> bool:
        """Write everything queued so far to the spool and (with `send`) try to send it.

        True when it was written (and, with `send`, the server has it) within `timeout`.
        """
        marker = _Flush()
        try:
            self.queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        self._wake.set()
        if not self.is_alive():
            return False
        if not send:
            return marker.written.wait(timeout)
        return marker.done.wait(timeout) and marker.sent

    def spill(self) -> None:
        """Move whatever is still queued to the spool from the calling thread (at exit)."""
        items = _take_all(self.queue)
        records = [i for i in items if not isinstance(i, _Flush)]
        if records:
            self.spool.append(self._prepare(records))
        for marker in items:
            if isinstance(marker, _Flush):
                marker.written.set()
                marker.done.set()

    def stop(self, timeout: float) -> bool:
        """Flush, then end the thread; True when nothing is left unsent."""
        sent = self.flush(timeout)
        self._stopping.set()
        self._wake.set()
        self.join(timeout=1.0)
        return sent

    def run(self) -> None:
        while not self._stopping.is_set():
            records, markers = self._drain()
            if records:
                self.spool.append(self._prepare(records))
            for marker in markers:
                marker.written.set()
            if records or markers or self.spool.has_pending():
                self._send(force=bool(markers))
            for marker in markers:
                marker.sent = not self.spool.has_pending()
                marker.done.set()

    def _drain(self) -> tuple[list[Record], list[_Flush]]:
        """Wait one tick (or less when woken), then take everything queued: one batch per tick
        instead of one request per step, which is what keeps the cost off the training loop."""
        self._wake.wait(self.interval)
        self._wake.clear()
        records: list[Record] = []
        markers: list[_Flush] = []
        for item in _take_all(self.queue):
            (markers if isinstance(item, _Flush) else records).append(item)
        return records, markers

    def _prepare(self, records: list[Record]) -> list[Record]:
        """Merge metric records into one, with sanitized keys and plain floats."""
        metrics: list[list[Any]] = []
        out: list[Record] = []
        for record in records:
            if record["op"] != "metrics":
                out.append(record)
                continue
            step, stamp = record["step"], record["timestamp"]
            for key, value in record["values"].items():
                number = float(value)
                name = self._keys.get(key) or self._keys.setdefault(key, sanitize_key(key))
                metrics.append([name, number, stamp, step])
                self.history[name].append((step, number))
        if metrics:
            out.insert(0, {"op": "metrics", "data": metrics})
        return out

    def _send(self, *, force: bool) -> None:
        now = time.monotonic()
        if not self.online and not force and now < self.next_attempt:
            return
        if not self.online and self.health is not None and not self.health():
            self._failed("health check failed")
            return
        try:
            self.replayer.replay(blocking=False)
        except ServerUnavailable as error:
            self._failed(str(error))
            return
        except Exception:  # a bug must not kill the sender: keep the spool, say why
            log.exception("accel-mlflow: replay failed; the data stays in %s", self.spool.path)
            self._failed("unexpected error")
            return
        if not self.online:
            log.warning("accel-mlflow: tracking server is back; spool replayed")
        self.online, self.failures = True, 0

    def _failed(self, reason: str) -> None:
        if self.online:
            log.warning(
                "accel-mlflow: tracking server unavailable (%s); spooling to %s",
                reason,
                self.spool.path,
            )
        self.online = False
        self.failures += 1
        self.next_attempt = time.monotonic() + wait_time(self.failures)


def _take_all(source: queue.Queue[Any]) -> list[Any]:
    items = []
    while True:
        try:
            items.append(source.get_nowait())
        except queue.Empty:
            return items
