"""Shared by the integration tests: the `accel` command run as a user would, in a subprocess,
and `accel serve` started as a real server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

if str(Path(__file__).parent) not in sys.path:  # test_foreign_pruning imports the matrix's helpers
    sys.path.insert(0, str(Path(__file__).parent))

Accel = Callable[..., subprocess.CompletedProcess[str]]


def run_accel(
    args: list[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """`python -m accel.cli ARGS` in `cwd`, without the run-dir/config variables of a parent
    accel process (a test must get its own run directory), plus `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "accel.cli", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def accel() -> Accel:
    return run_accel


@pytest.fixture(scope="session")
def accel_session() -> Accel:
    """`run_accel`, for module- and session-scoped fixtures (`accel` is per test)."""
    return run_accel


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(args: list[str], cwd: Path, *, ready_s: float = 120) -> Iterator[str]:
    """`accel serve ARGS --port P` started in `cwd` (no token from the environment); yields its
    URL once /v2/health/ready answers 200, then stops it with SIGTERM and checks it exits 0.
    Its log is `cwd/serve.log`, quoted when it dies or never gets ready."""
    import httpx

    port, log_path = free_port(), cwd / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "ACCEL_SERVE_TOKEN"}
    command = [sys.executable, "-m", "accel.cli", "serve", *args, "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + ready_s
    try:
        while True:
            assert process.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            try:
                if httpx.get(url + "/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        code = process.wait(timeout=30)
    assert code == 0, log_path.read_text()[-2000:]


Serving = Callable[..., AbstractContextManager[str]]


@pytest.fixture(scope="session")
def serve() -> Serving:
    """`serving`, for fixtures of any scope."""
    return serving
