"""Helpers for tests of accel and of its plugins (imported by tests only, never by accel).

`hang_guard(seconds)` fails a block that is still running after `seconds`, instead of letting
a test suite wait forever on it. It guards against a hang and is set far above the normal time:
it is not a speed check (speed is measured in benchmarks).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the block after `seconds` (SIGALRM: Unix, main thread only)."""

    def stop(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
