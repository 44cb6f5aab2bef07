"""The hang guard stops a block that never ends and leaves everything as it was."""

from __future__ import annotations

import signal
import time

import pytest

from accel.core.testing import hang_guard


def spin_forever() -> None:
    with hang_guard(0.2):
        while True:
            time.sleep(0.01)


def test_a_block_that_hangs_is_stopped() -> None:
    with pytest.raises(TimeoutError, match=r"still running after 0.2 s: a hang"):
        spin_forever()


def test_a_block_that_ends_passes_and_the_previous_handler_is_back() -> None:
    before = signal.getsignal(signal.SIGALRM)
    with hang_guard(5):
        total = sum(range(1000))
    assert total == 499500
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
