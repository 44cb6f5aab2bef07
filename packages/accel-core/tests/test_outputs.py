"""Output folders accel owns: swapped in whole, never over a user's files, tidied after a kill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accel.core.errors import ConfigError
from accel.core.outputs import MARKER, check_output_folder, output_folder, remove_stale


def write(path: Path, owner: str = "test", files: dict[str, str] | None = None) -> None:
    with output_folder(path, owner=owner) as folder:
        for name, text in (files or {"a.txt": "1"}).items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)


def test_a_new_folder_is_written_with_a_marker_listing_its_files(tmp_path: Path) -> None:
    write(tmp_path / "out", files={"a.txt": "1", "sub/b.txt": "2"})
    marker = json.loads((tmp_path / "out" / MARKER).read_text())
    assert marker["owner"] == "test"
    assert marker["files"] == ["a.txt", "sub/b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporaries left


def test_an_accel_output_is_replaced_whole(tmp_path: Path) -> None:
    write(tmp_path / "out", files={"old.txt": "1"})
    write(tmp_path / "out", files={"new.txt": "2"})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [MARKER, "new.txt"]


def test_a_failure_keeps_the_previous_result(tmp_path: Path) -> None:
    write(tmp_path / "out", files={"good.txt": "1"})

    def fail_half_way() -> None:
        with output_folder(tmp_path / "out", owner="t") as folder:
            (folder / "half.txt").write_text("x")
            raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert (tmp_path / "out" / "good.txt").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_with_a_users_file_is_refused_and_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(ConfigError, match=r"holds files accel did not write \(thesis.tex\)"):
        write(out)
    assert (out / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_a_users_file_added_to_an_accel_output_is_protected_too(tmp_path: Path) -> None:
    write(tmp_path / "out")
    (tmp_path / "out" / "notes.md").write_text("mine")
    with pytest.raises(ConfigError, match=r"notes\.md"):
        write(tmp_path / "out")
    assert (tmp_path / "out" / "notes.md").read_text() == "mine"


def test_a_file_and_the_current_folder_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "model.onnx").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "model.onnx", "-o")
    assert (tmp_path / "model.onnx").read_text() == "x"
    monkeypatch.chdir(tmp_path)
    for here in (".", str(tmp_path), ".."):
        with pytest.raises(ConfigError, match="the folder you are in"):
            check_output_folder(here, "-o")


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    write(tmp_path / "out")
    assert (tmp_path / "out" / "a.txt").is_file()


KILLED = """
import os, sys, time
from pathlib import Path
from accel.core.outputs import output_folder
with output_folder(Path(sys.argv[1]), owner="t") as folder:
    (folder / "half.bin").write_bytes(b"x" * 1000)
    print("ready", flush=True)
    time.sleep(60)
"""


def test_a_killed_run_leaves_nothing_after_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.kill()
    child.wait()
    assert [p.name for p in tmp_path.iterdir()] == [f".tmp-{child.pid}-out"]
    write(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_stale_folder_without_the_marker_or_of_a_live_process_is_kept(tmp_path: Path) -> None:
    foreign = tmp_path / ".tmp-999999-out"
    foreign.mkdir()  # looks like ours, but holds no marker: it may be a user's
    (foreign / "data.bin").write_bytes(b"x")
    empty = tmp_path / ".tmp-999998-out"
    empty.mkdir()  # killed between mkdir and writing the marker: nothing to lose
    live = tmp_path / f".tmp-{os.getppid()}-out"
    live.mkdir()
    (live / MARKER).write_text(json.dumps({"files": None}))
    assert remove_stale(tmp_path / "out") == [empty]
    assert foreign.is_dir()
    assert live.is_dir()
