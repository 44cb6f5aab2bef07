"""The training process's handle on its sender process (`accel.mlflow.sender_process`).

One sender process serves a tracker and all its nested child runs. Commands are written as
JSON lines to its stdin; a reader thread (idle in a blocking read, so it costs the training
loop nothing) answers flushes and re-logs the sender's log records here. A sender that died
is started again on the next command (at most `MAX_RESTARTS` times); its data is never at
risk, because everything it sends is read from the spool files.
"""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import IO, Any

from accel.mlflow.client_env import sender_environment

log = logging.getLogger(__name__)

MAX_RESTARTS = 3


class SenderLink:
    """Starts the sender process and sends it commands; see the module docstring."""

    def __init__(self, interval: float, env: Mapping[str, str] | None = None) -> None:
        """`env`: MLflow client settings for the sender process (see client_env)."""
        self.interval = interval
        self.env = dict(env or {})
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[threading.Event, list[bool]]] = {}
        self._opened: dict[str, dict[str, Any]] = {}
        self._restarts = 0
        self._users = 0

    def acquire(self) -> SenderLink:
        """One more tracker run uses this sender (a parent and its nested runs share it)."""
        self._users += 1
        return self

    def release(self, timeout: float = 5.0) -> None:
        """That run ended; the last one to end shuts the sender down."""
        self._users -= 1
        if self._users <= 0:
            self.shutdown(timeout)

    def open(self, directory: str, max_param_length: int) -> None:
        """Start sending a run directory's spool (the run is created as soon as possible)."""
        command = {"op": "open", "dir": directory, "max_param_length": max_param_length}
        self._write(command)
        self._opened[directory] = command  # after: a (re)started sender gets it only once

    def send(self, directory: str) -> None:
        """New data is in the spool: send it when the server is up."""
        self._write({"op": "send", "dir": directory})

    def flush(self, directory: str, timeout: float) -> bool:
        """Ask for an attempt now; True when the server then held everything spooled."""
        ident = next(self._ids)
        done, result = threading.Event(), [False]
        self._waiting[ident] = (done, result)
        try:
            if not self._write({"op": "flush", "dir": directory, "id": ident}):
                return False
            return done.wait(timeout) and result[0]
        finally:
            self._waiting.pop(ident, None)

    def close(self, directory: str) -> None:
        """The run ended: the sender sends what is left (while it lives), then forgets it."""
        self._opened.pop(directory, None)
        self._write({"op": "close", "dir": directory})

    def shutdown(self, timeout: float = 5.0) -> None:
        """Close the sender's input; it makes one last attempt and exits."""
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            pass  # it finishes its last attempt on its own; nothing depends on it now

    def _write(self, command: dict[str, Any]) -> bool:
        with self._lock:
            process = self._running()
            if process is None or process.stdin is None:
                return False
            try:
                process.stdin.write(json.dumps(command) + "\n")
                process.stdin.flush()
                return True
            except (BrokenPipeError, OSError, ValueError):
                return False  # it died just now; the next command starts it again

    def _running(self) -> subprocess.Popen[str] | None:
        """The live sender process, started (again) when needed; call with the lock held."""
        if self._process is not None and self._process.poll() is None:
            return self._process
        if self._process is not None:  # it died under us
            if self._restarts >= MAX_RESTARTS:
                return None
            self._restarts += 1
            log.warning(
                "accel-mlflow: the sender process exited (code %s); starting it again",
                self._process.returncode,
            )
        self._process = subprocess.Popen(
            [sys.executable, "-m", "accel.mlflow.sender_process", "--interval", str(self.interval)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=sender_environment(self.env),
        )
        threading.Thread(
            target=self._read, args=(self._process.stdout,), name="accel-mlflow-link", daemon=True
        ).start()
        assert self._process.stdin is not None
        for command in self._opened.values():  # a restarted sender learns the open runs again
            self._process.stdin.write(json.dumps(command) + "\n")
        return self._process

    def _read(self, source: IO[str] | None) -> None:
        """Answers to flushes, and the sender's log records re-logged here."""
        if source is None:
            return
        for line in source:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("op") == "done":
                waiter = self._waiting.get(message.get("id"))
                if waiter is not None:
                    waiter[1][0] = bool(message.get("sent"))
                    waiter[0].set()
            elif message.get("op") == "log":
                logger = logging.getLogger(str(message.get("name") or __name__))
                logger.log(int(message.get("level", logging.WARNING)), "%s", message["message"])
        for done, _ in list(self._waiting.values()):  # it is gone: nobody will answer
            done.set()
