"""Helpers shared by the accel-cli tests (this folder is put on sys.path by conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accel.cli.main import run


def cli(argv: list[str]) -> int:
    """Run `accel ARGV` in this process; its exit code."""
    with pytest.raises(SystemExit) as info:
        run(argv)
    return int(info.value.code or 0)


def run_dirs(root: Path) -> list[Path]:
    """The run directories (`runs/<date>/<time>`) under a project folder, oldest first."""
    return sorted(p for p in (root / "runs").glob("*/*") if p.is_dir())
