"""Helpers shared by the accel-cli tests (this folder is put on sys.path by conftest.py)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from accel.cli.main import run

# A case that fails validation takes well under a second; this bound catches a hang (a sweep
# expanded before it is counted took minutes) without being flaky on a busy machine.
CASE_SECONDS = 20.0


def cli(argv: list[str]) -> int:
    """Run `accel ARGV` in this process; its exit code."""
    with pytest.raises(SystemExit) as info:
        run(argv)
    return int(info.value.code or 0)


def run_dirs(root: Path) -> list[Path]:
    """The run directories (`runs/<date>/<time>`) under a project folder, oldest first."""
    return sorted(p for p in (root / "runs").glob("*/*") if p.is_dir())


def assert_one_line_error(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    expected: str = "",
    *,
    root: Path | None = None,
    code: int | None = None,
) -> str:
    """`accel ARGV` fails fast with exactly one `error:` line holding `expected`: exit code
    != 0 (`code` when given), no traceback, no internal error; with `root`, no run dir made
    under it. Returns the line."""
    start = time.perf_counter()
    rc = cli(argv)
    elapsed = time.perf_counter() - start
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert rc != 0, (argv, captured.out[-500:])
    assert code is None or rc == code, (rc, lines)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    assert "Traceback" not in captured.err + captured.out
    assert "internal error" not in lines[0], lines[0]
    assert expected in lines[0], lines[0]
    assert elapsed < CASE_SECONDS, f"{argv} took {elapsed:.1f} s"
    if root is not None:
        assert run_dirs(root) == [], run_dirs(root)
    return lines[0]


def copy_checkpoint(run_dir: Path, dest: Path) -> Path:
    """A copy of `run_dir`'s checkpoint folder (`epoch=000-step=...`) inside `dest`."""
    [source] = [p for p in (run_dir / "checkpoints").iterdir() if p.is_dir()]
    dest.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(source, dest / source.name))


def edit_manifest(checkpoint: Path, change: Callable[[dict[str, Any]], Any]) -> Path:
    """Rewrite `checkpoint/manifest.json` with `change(manifest)` applied in place."""
    path = checkpoint / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    return checkpoint
