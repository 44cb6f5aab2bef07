"""The sender process: replays run spools to MLflow outside the training process.

usage: python -m accel.mlflow.sender_process --interval SECONDS

Sending (reading the spool, building requests, HTTP) is Python work that would hold the
training process's GIL for ~10 µs per metric; here it runs in its own interpreter. The
training process (`accel.mlflow.sender_link`) talks to it in JSON lines:

    stdin   {"op": "open", "dir": D, "max_param_length": N}   start sending D's spool
            {"op": "send", "dir": D}                          new data: send when online
            {"op": "flush", "dir": D, "id": I}                 try now, then answer
            {"op": "close", "dir": D}                         the run ended: send what is
                                                              left, then forget D
            end of input                                      one last try, then exit
    stdout  {"op": "done", "id": I, "sent": bool}             answer to a flush
            {"op": "log", "name": L, "level": N, "message": M} a log record to show

Every directory is also retried on each tick (`--interval`), with back-off while the
server is away. The process exits when its input closes, so it never outlives its training
process by more than one last attempt; what is still unsent stays in the spool for a
resume or `accel mlflow sync`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from accel.mlflow.limits import Limits
from accel.mlflow.replay import Replayer
from accel.mlflow.sender import Sender
from accel.mlflow.uri import health_check

_EOF = object()  # the input closed


class SenderService:
    """The directories this process sends, and what each command does to them."""

    def __init__(self, emit: Any) -> None:
        self.emit = emit
        self.senders: dict[str, Sender] = {}
        self.closed: set[str] = set()

    def handle(self, command: dict[str, Any]) -> None:
        op, directory = command.get("op"), str(command.get("dir"))
        if op == "open":
            self.closed.discard(directory)
            if directory not in self.senders:
                self.senders[directory] = _sender_for(directory, command)
            self.senders[directory].send(force=True)  # creates the run early
        elif op == "send" and directory in self.senders:
            self.senders[directory].send()
        elif op == "flush":
            sender = self.senders.get(directory)
            sent = sender.send(force=True) if sender else False
            self.emit({"op": "done", "id": command.get("id"), "sent": sent})
        elif op == "close" and directory in self.senders:
            self.closed.add(directory)
            self._forget_if_done(directory)

    def tick(self) -> None:
        """Retry every directory with unsent data (the back-off decides whether to try)."""
        for directory, sender in list(self.senders.items()):
            if sender.spool.has_pending():
                sender.send()
            self._forget_if_done(directory)

    def finish(self) -> None:
        """One last try for every directory (the training process is gone or done)."""
        for sender in self.senders.values():
            if sender.spool.has_pending():
                sender.send(force=True)

    def _forget_if_done(self, directory: str) -> None:
        if directory in self.closed and not self.senders[directory].spool.has_pending():
            del self.senders[directory]
            self.closed.discard(directory)


def _sender_for(directory: str, command: dict[str, Any]) -> Sender:
    limits = Limits(max_param_length=int(command.get("max_param_length", 6000)))
    replayer = Replayer(Path(directory), limits)
    return Sender(replayer, health=lambda: health_check(replayer.state.tracking_uri))


class _ForwardToParent(logging.Handler):
    """Log records go to the training process, which shows them through its own logging."""

    def __init__(self, emit: Any) -> None:
        super().__init__(level=logging.INFO)
        self.emit_line = emit

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:  # a broken log call must not stop the sender
            message = str(record.msg)
        self.emit_line(
            {"op": "log", "name": record.name, "level": record.levelno, "message": message}
        )


def _read_commands(source: TextIO, commands: queue.Queue[Any]) -> None:
    for line in source:
        try:
            commands.put(json.loads(line))
        except ValueError:
            continue
    commands.put(_EOF)


def serve(interval: float, source: TextIO, sink: TextIO) -> None:
    """Run commands from `source` until it closes; answers and log records go to `sink`."""
    lock = threading.Lock()

    def emit(message: dict[str, Any]) -> None:
        with lock:
            try:
                sink.write(json.dumps(message) + "\n")
                sink.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass  # the training process is gone: nobody to tell

    service = SenderService(emit)
    commands: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_read_commands, args=(source, commands), daemon=True).start()
    with _logs_sent_to(emit):
        last_tick = time.monotonic()
        while True:
            try:
                command = commands.get(timeout=interval)
            except queue.Empty:
                command = None
            if command is _EOF:
                service.finish()
                return
            if command is not None:
                service.handle(command)
            if time.monotonic() - last_tick >= interval:  # busy runs must not starve others
                service.tick()
                last_tick = time.monotonic()


@contextlib.contextmanager
def _logs_sent_to(emit: Any) -> Iterator[None]:
    """accel-mlflow's log records go to `emit` (not to this process's stderr) meanwhile."""
    package_log = logging.getLogger("accel.mlflow")
    saved = package_log.level, package_log.propagate
    handler = _ForwardToParent(emit)
    package_log.addHandler(handler)
    package_log.setLevel(logging.INFO)
    package_log.propagate = False
    try:
        yield
    finally:
        package_log.removeHandler(handler)
        package_log.level, package_log.propagate = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accel.mlflow.sender_process")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between retries")
    args = parser.parse_args(argv)
    # Ctrl-C in a terminal reaches the whole process group: the training process handles it
    # (its run ends KILLED, through this sender); this process ends when its input closes
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the protocol keeps the real stdout; anything a library prints goes to stderr instead
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(args.interval, sys.stdin, protocol)
    return 0


if __name__ == "__main__":
    sys.exit(main())
