"""Atomic writes: a failure leaves nothing half-written and keeps the previous file; leftovers
of killed writers are cleaned; a file accel did not write is never replaced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from accel.compress.atomic import (
    ANALYSIS_FORMAT,
    atomic_path,
    check_owned_json,
    write_json,
    write_owned_json,
)
from accel.core.errors import ConfigError


def fail_inside(manager: Any, name: str | None = None) -> None:
    """Write something inside `manager`, then fail."""
    with manager as temp:
        (temp / name if name else temp).write_text("half")
        raise RuntimeError("boom")


def test_atomic_path_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        fail_inside(atomic_path(target))
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]
    write_json(target, {"a": 1})
    assert target.read_text().strip() == '{\n  "a": 1\n}'


def dead_pid() -> int:
    """The id of a process that has exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                           capture_output=True, text=True)  # fmt: skip
    return int(child.stdout)


def test_a_killed_writers_temporary_is_removed_on_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    stale = tmp_path / f".tmp-{dead_pid()}-report.json"
    stale.write_text("half")
    other = tmp_path / f".tmp-{dead_pid()}-other.json"  # another file's: not ours to touch
    other.write_text("half")
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert not stale.exists()
    assert other.exists()


def test_a_live_writers_temporary_is_kept(tmp_path: Path) -> None:
    import os

    live = tmp_path / f".tmp-{os.getppid()}-report.json"
    live.write_text("in progress")
    write_json(tmp_path / "report.json", {})
    assert live.read_text() == "in progress"


def test_owned_json_replaces_only_what_accel_wrote(tmp_path: Path) -> None:
    path = tmp_path / "analysis.json"
    write_owned_json(path, {"params": 1}, "--output")
    assert json.loads(path.read_text()) == {"format": ANALYSIS_FORMAT, "params": 1}
    write_owned_json(path, {"params": 2}, "--output")
    assert json.loads(path.read_text())["params"] == 2
    mine = tmp_path / "notes.json"
    mine.write_text('{"mine": true}')
    with pytest.raises(ConfigError, match=r"--output .*notes.json exists and was not written by"):
        write_owned_json(mine, {"params": 1}, "--output")
    assert mine.read_text() == '{"mine": true}'
    with pytest.raises(ConfigError, match="is not a plain file"):
        check_owned_json(tmp_path, "--output")
