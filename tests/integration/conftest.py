"""Shared by the integration tests: the `accel` command run as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

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
