"""Atomic file writes: old or new content, never half; errors name the file; leftovers go."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from accel.core.atomic import atomic_path, write_bytes_atomic, write_json_atomic


def test_writes_replace_whole_files_with_usual_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "state.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json"]


def test_nan_is_refused_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Out of range float values"):
        write_json_atomic(tmp_path / "x.json", {"a": float("nan")})
    assert not (tmp_path / "x.json").exists()
    write_json_atomic(tmp_path / "x.json", {"a": float("nan")}, allow_nan=True)
    assert "NaN" in (tmp_path / "x.json").read_text()


def test_leftovers_of_a_dead_writer_are_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    dead = tmp_path / ".tmp-999999-report.json.abc123"
    live = tmp_path / f".tmp-{os.getppid()}-report.json"
    for path in (dead, live):
        path.write_text("half")
    write_bytes_atomic(target, b"{}")
    assert not dead.exists()
    assert live.exists()


def test_atomic_path_lets_a_tool_write_and_cleans_up_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    with atomic_path(target) as temp:
        assert temp.suffix == ".onnx"
        temp.write_bytes(b"new")
    assert target.read_bytes() == b"new"

    def fail() -> None:
        with atomic_path(target) as temp:
            temp.write_bytes(b"half")
            raise RuntimeError("export failed")

    with pytest.raises(RuntimeError):
        fail()
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    (mount / "old.txt").write_text("previous")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def test_a_full_disk_names_the_file_and_keeps_the_old_one(full_disk: Path) -> None:
    with pytest.raises(OSError, match=r"No space left on device: '.*disk/old.txt'"):
        write_bytes_atomic(full_disk / "old.txt", b"x" * 2**20)
    assert (full_disk / "old.txt").read_text() == "previous"
    assert sorted(p.name for p in full_disk.iterdir()) == ["old.txt"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_folder_swap_replaces_the_whole_folder_or_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accel.core.atomic import swap_folder

    target, new = tmp_path / "out", tmp_path / ".tmp-new"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new.mkdir()
    (new / "model.onnx").write_text("new")
    assert swap_folder(new, target) == target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing left aside
    assert [p.name for p in target.iterdir()] == ["model.onnx"]
    (tmp_path / ".tmp-next").mkdir()
    calls: list[str] = []

    def replace_failing_into_place(src: str, dst: str) -> None:
        calls.append(Path(src).name)
        if Path(src).name == ".tmp-next":
            raise OSError(28, "No space left on device")
        os.rename(src, dst)

    import accel.core.atomic as atomic

    monkeypatch.setattr(atomic.os, "replace", replace_failing_into_place)
    with pytest.raises(OSError, match="No space left on device"):
        swap_folder(tmp_path / ".tmp-next", target)
    assert calls == ["out", ".tmp-next", f".old-{os.getpid()}-out"]
    assert [p.name for p in target.iterdir()] == ["model.onnx"]  # put back, not lost
