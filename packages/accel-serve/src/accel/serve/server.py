"""Run the app under uvicorn: one process, one event loop, one session per model version.

The worker model, and why it is one process: a model's ONNX Runtime session holds its own
intra-op thread pool, pinned to `--threads`. Several uvicorn/gunicorn workers would each load
their own copy of every model (N times the memory) and each start a pool the size of the
machine, so N pools fight over the same cores (oversubscription: every batch slows down and
latency jumps); a session created before a fork shares thread pools the child cannot use;
and each worker batches only the requests it happens to receive, so batches shrink by N. One
process with one batcher per model gathers every request into the fewest model calls and
gives ORT the cores it was told it may use. The event loop only parses, validates and
answers: inference runs on the model's own thread. To use more cores, raise `--threads`;
to use more machines, run more servers behind a load balancer.

Graceful shutdown: on SIGTERM (or Ctrl-C) readiness turns false at once and new inference is
refused with 503, while requests in flight finish (up to `--drain-timeout-s`); then uvicorn
closes the connections and the process exits 0. A second signal stops at once.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from types import FrameType

import uvicorn

from accel.serve.app import create_app
from accel.serve.options import ServeOptions
from accel.serve.state import ServerState


class DrainingServer(uvicorn.Server):
    """uvicorn, with a drain phase before its own shutdown (see the module docstring)."""

    def __init__(self, config: uvicorn.Config, *, state: ServerState) -> None:
        super().__init__(config)
        self.serve_state = state
        self.drain_started: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_started is None and sig in (signal.SIGTERM, signal.SIGINT):
            self.serve_state.draining = True
            self.serve_state.metrics.ready.set(0)
            self.drain_started = time.monotonic()
            logging.getLogger("accel.serve").info('{"event": "draining"}')
            return
        self.force_exit = True
        self.should_exit = True

    async def on_tick(self, counter: int) -> bool:
        state = self.serve_state
        if state.fatal is not None:
            return True
        if self.drain_started is not None:
            waited = time.monotonic() - self.drain_started
            busy = state.in_flight > 0
            if not busy or waited > state.options.drain_timeout_s:
                return True
        return await super().on_tick(counter)


def configure_logging() -> None:
    """One JSON line per request (accel.serve.access) and per event (accel.serve) on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("accel.serve.access", "accel.serve"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def serve(options: ServeOptions) -> int:
    """Serve until stopped; the exit code (1 when the models failed to load)."""
    configure_logging()
    state = ServerState(options=options)
    app = create_app(options, state)
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        workers=1,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=max(1, int(options.drain_timeout_s)),
        limit_concurrency=max(1024, 4 * options.max_queue),
        server_header=False,
    )
    server = DrainingServer(config, state=state)
    server.run()
    if state.fatal is not None:
        print(f"error: {state.fatal}", file=sys.stderr)
        return 1
    return 0
