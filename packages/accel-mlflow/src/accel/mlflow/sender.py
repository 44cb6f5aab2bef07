"""Send one run directory's spool, and back off while the tracking server is away.

This is the state machine around a `Replayer`: online until an attempt fails, then offline
with a growing wait between attempts (a flush forces one). It runs in the sender process
(`accel.mlflow.sender_process`), never in the training process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from accel.mlflow.replay import Replayer, wait_time
from accel.mlflow.transient import ServerUnavailable

log = logging.getLogger(__name__)


class Sender:
    """Sends what one run directory's spool holds; see the module docstring."""

    def __init__(self, replayer: Replayer, health: Callable[[], bool] | None = None) -> None:
        self.replayer = replayer
        self.spool = replayer.spool
        self.health = health
        self.online = True
        self.failures = 0
        self.next_attempt = 0.0

    def send(self, *, force: bool = False) -> bool:
        """Try to send everything pending (now, when `force`; else when the back-off allows).

        True when the server holds everything the spool had.
        """
        now = time.monotonic()
        if not self.online and not force and now < self.next_attempt:
            return False
        if not self.online and self.health is not None and not self.health():
            self._failed("health check failed")
            return False
        try:
            self.replayer.replay(blocking=False)
        except ServerUnavailable as error:
            self._failed(str(error))
            return False
        except Exception:  # a bug must not stop the sender: keep the spool, say why
            log.exception("accel-mlflow: replay failed; the data stays in %s", self.spool.path)
            self._failed("unexpected error")
            return False
        if not self.online:
            log.warning("accel-mlflow: tracking server is back; spool replayed")
        self.online, self.failures = True, 0
        return not self.spool.has_pending()

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
