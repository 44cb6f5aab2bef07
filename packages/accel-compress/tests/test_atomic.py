"""Atomic writes: a failure leaves nothing half-written and keeps the previous result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accel.compress.atomic import atomic_dir, atomic_path, write_json


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


def test_atomic_dir_keeps_the_previous_folder_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_dir(out) as folder:
        (folder / "model.onnx").write_text("good")
    with pytest.raises(RuntimeError, match="boom"):
        fail_inside(atomic_dir(out), "model.onnx")
    assert (out / "model.onnx").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with atomic_dir(out) as folder:
        (folder / "new.txt").write_text("x")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
