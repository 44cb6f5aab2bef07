"""The spool writer: a lock-free queue in front, the spool file and the sender process behind.

The training thread only ever calls `submit`, which never waits and takes no lock: it
appends to a deque (atomic under the GIL; `queue.Queue`'s lock and condition cost ~6 µs per
call inside a training loop), and a full queue spills the record straight to the spool file.
Once per tick this thread merges the queued metrics into one record, appends it to the spool
(the write-ahead log) and tells the sender process, which does the sending in its own
interpreter (`accel.mlflow.sender_process`), so the network never touches the training GIL.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from collections import deque
from typing import Any

from accel.mlflow.columns import Column, encode_columns, new_column
from accel.mlflow.sanitize import sanitize_key
from accel.mlflow.sender_link import SenderLink
from accel.mlflow.spool import Record, Spool

log = logging.getLogger(__name__)

MetricRecord = tuple[dict[str, Any], int, int]
"""Metric values, step, timestamp (ms): a tuple of plain values, so the garbage collector
stops tracking it at its first pass, instead of every step adding objects that a full
collection of the training process must walk."""


class _Flush:
    """A marker asking the worker to write everything queued before it to the spool."""

    def __init__(self) -> None:
        self.written = threading.Event()


class Worker(threading.Thread):
    """Writes a run's records to its spool in the background; see the module docstring."""

    def __init__(
        self,
        spool: Spool,
        link: SenderLink | None = None,
        *,
        queue_size: int = 10_000,
        interval: float = 1.0,
    ) -> None:
        super().__init__(name="accel-mlflow-writer", daemon=True)
        self.spool = spool
        self.link = link
        self.directory = str(spool.directory)
        self.queue: deque[Any] = deque()
        self.queue_size = queue_size
        self.interval = interval
        self.history: dict[str, tuple[array[int], array[float]]] = {}
        self._keys: dict[str, str] = {}
        self._skipped: set[str] = set()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._high_water = max(1, queue_size // 2)

    def submit(self, record: Record | MetricRecord) -> None:
        """Queue a record without ever blocking; a full queue spills it to the spool."""
        pending = len(self.queue)
        if pending < self._high_water:
            self.queue.append(record)
        elif pending < self.queue_size:
            self.queue.append(record)
            self._wake.set()  # half full: write now rather than at the next tick
        else:
            self.spool.append([self._prepare([record])[0]])

    def flush(self, timeout: float, *, send: bool = True) -> bool:
        """Write everything queued so far to the spool and (with `send`) have it sent.

        True when it was written (and, with `send`, the server has it) within `timeout`.
        """
        deadline = time.monotonic() + timeout
        marker = _Flush()
        self.queue.append(marker)  # a marker may go past queue_size: it is not data
        self._wake.set()
        if not self.is_alive() or not marker.written.wait(timeout):
            return False
        if not send:
            return True
        if self.link is None:
            return not self.spool.has_pending()
        return self.link.flush(self.directory, max(0.0, deadline - time.monotonic()))

    def spill(self) -> None:
        """Move whatever is still queued to the spool from the calling thread (at exit)."""
        items = _take_all(self.queue)
        records = [i for i in items if not isinstance(i, _Flush)]
        if records:
            self.spool.append(self._prepare(records))
        for marker in items:
            if isinstance(marker, _Flush):
                marker.written.set()

    def stop(self, timeout: float) -> bool:
        """Flush, then end the thread; True when nothing is left unsent."""
        sent = self.flush(timeout)
        self._stopping.set()
        self._wake.set()
        self.join(timeout=1.0)
        if self.link is not None:
            self.link.close(self.directory)
        return sent

    def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            items = _take_all(self.queue)
            records = [i for i in items if not isinstance(i, _Flush)]
            if records:
                self.spool.append(self._prepare(records))
                if self.link is not None:
                    self.link.send(self.directory)
            for marker in items:
                if isinstance(marker, _Flush):
                    marker.written.set()

    def curves(self) -> dict[str, list[tuple[int, float]]]:
        """Every metric logged so far as (step, value) points, for the training-curve plots."""
        return {
            name: list(zip(steps, values, strict=True))
            for name, (steps, values) in self.history.items()
        }

    def _prepare(self, records: list[Any]) -> list[Record]:
        """Merge metric records into one packed record (sanitized names, plain floats)."""
        columns: dict[str, Column] = {}
        out: list[Record] = []
        for record in records:
            if isinstance(record, dict):
                out.append(record)
                continue
            values, step, stamp = record
            step = int(step)
            for key, value in values.items():
                try:
                    number = float(value)
                except Exception:  # not a number: a string, a tensor of several values...
                    self._not_a_number(key, value)
                    continue
                name = self._keys.get(key) or self._metric_name(key)
                column = columns.get(name)
                if column is None:
                    column = columns[name] = new_column()
                column[0].append(step)
                column[1].append(number)
                column[2].append(stamp)
        if columns:
            for name, (steps, values, _) in columns.items():
                self.history[name][0].extend(steps)
                self.history[name][1].extend(values)
            out.insert(0, {"op": "metrics", "data": encode_columns(columns)})
        return out

    def _not_a_number(self, key: str, value: Any) -> None:
        if key not in self._skipped:
            self._skipped.add(key)
            log.warning("accel-mlflow: metric %r = %r is not a number; not logged", key, value)

    def _metric_name(self, key: str) -> str:
        """A metric's name as MLflow accepts it (once per key), with its empty history."""
        name = self._keys[key] = sanitize_key(key)
        self.history.setdefault(name, (array("q"), array("d")))
        return name


def _take_all(source: deque[Any]) -> list[Any]:
    """Everything queued so far, oldest first (safe against a concurrent `append`)."""
    items = []
    while True:
        try:
            items.append(source.popleft())
        except IndexError:
            return items
