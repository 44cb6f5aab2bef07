"""The run's write-ahead log: every record is appended here before it is sent.

One JSON object per line in `spool.jsonl`; `spool.cursor` holds the byte offset up to which
the server has acknowledged. Each append is a single `write` of whole lines on an O_APPEND
descriptor followed by fsync, so a crash loses at most the record being written, and a torn
last line is fenced off (skipped) rather than glued to the next record. When everything is
acknowledged the log is truncated, so it only ever holds what is not yet on the server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from accel.core.atomic import write_text_atomic

try:  # advisory lock between a training process and `accel mlflow sync`
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SPOOL_NAME = "spool.jsonl"
CURSOR_NAME = "spool.cursor"
LOCK_NAME = "spool.lock"
REPLAY_LOCK_NAME = "replay.lock"
REJECTED_NAME = "rejected.jsonl"

Record = dict[str, Any]


class Spool:
    """Append-only JSONL log of records with an acknowledged-offset cursor."""

    def __init__(self, directory: Path, *, durable: bool = True) -> None:
        self.directory = Path(directory)
        self.path = self.directory / SPOOL_NAME
        self.cursor_path = self.directory / CURSOR_NAME
        self.durable = durable
        self._lock = threading.RLock()
        self._replay_lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file briefly against other threads and processes (append, truncate)."""
        with self._lock, _flock(self.directory / LOCK_NAME, blocking=True):
            yield

    @contextlib.contextmanager
    def replaying(self, *, blocking: bool = True) -> Iterator[bool]:
        """Be the only replayer (thread or process); yields False when `blocking` is off and
        another one holds it. Appends stay possible meanwhile."""
        if not self._replay_lock.acquire(blocking=blocking):
            yield False
            return
        try:
            with _flock(self.directory / REPLAY_LOCK_NAME, blocking=blocking) as held:
                yield held
        finally:
            self._replay_lock.release()

    def append(self, records: Sequence[Record]) -> None:
        """Append `records` as lines in one write (fsync'd when durable)."""
        if not records:
            return
        payload = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
        with self.locked():
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if _ends_torn(fd):
                    payload = b"\n" + payload
                os.write(fd, payload)
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)

    def cursor(self) -> int:
        """Byte offset acknowledged so far (0 when missing or beyond the file)."""
        try:
            offset = int(self.cursor_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0
        return offset if offset <= self.size() else 0

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def pending(self) -> list[tuple[Record, int]]:
        """Unacknowledged records with the offset just past each; torn lines are skipped."""
        start = self.cursor()
        try:
            with open(self.path, "rb") as handle:
                handle.seek(start)
                data = handle.read()
        except FileNotFoundError:
            return []
        records: list[tuple[Record, int]] = []
        offset = start
        for line in data.splitlines(keepends=True):
            offset += len(line)
            if not line.endswith(b"\n"):
                break  # being written right now (or torn by a crash): not ours yet
            try:
                records.append((json.loads(line), offset))
            except ValueError:
                log.warning("skipping a torn line in %s at byte %d", self.path, offset - len(line))
        return records

    def has_pending(self) -> bool:
        return self.size() > self.cursor()

    def acknowledge(self, offset: int) -> None:
        """Mark everything before `offset` as on the server; truncate when all of it is."""
        with self.locked():
            if offset >= self.size():
                with open(self.path, "ab") as handle:
                    handle.truncate(0)
                offset = 0
            write_text_atomic(self.cursor_path, f"{offset}\n")

    def reject(self, record: Record, reason: str) -> None:
        """Keep a record the server refused (bad data) beside the spool, with the reason."""
        line = json.dumps({"reason": reason, "record": record}, separators=(",", ":")) + "\n"
        with self.locked(), open(self.directory / REJECTED_NAME, "a", encoding="utf-8") as out:
            out.write(line)


@contextlib.contextmanager
def _flock(path: Path, *, blocking: bool) -> Iterator[bool]:
    """An advisory file lock where the platform has one (a no-op elsewhere)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - Windows
        yield True
        return
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ends_torn(fd: int) -> bool:
    """True when the file's last byte is not a newline (a write cut short by a crash)."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"
