"""Write files atomically: a temporary file beside the target, fsynced, renamed over it.

Readers see the old file or the new one, never half of one, and a failure (a full disk, a
kill) leaves the previous file as it was. An OS error names the file being written, so the
one-line message a user sees says where (`No space left on device: runs/x/config.yaml`).
`swap_folder` does the same for a whole folder; folders of results go through
`accel.core.outputs.output_folder`, which checks what it replaces and swaps with it.
"""

from __future__ import annotations

import glob
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TMP_PREFIX = ".tmp-"
STALE = re.compile(r"\.(tmp|old)-(\d+)-(.+)")  # .tmp-<pid>-<name>: whose writer, of what


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace `path` with `data` in one rename; the usual permissions (0666 & ~umask)."""
    path = Path(path)
    with _naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_files(path)
        prefix = f"{TMP_PREFIX}{os.getpid()}-{path.name}."  # a random suffix: threads differ
        fd, tmp = tempfile.mkstemp(prefix=prefix, dir=path.parent)
        try:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_path(path.parent)
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Replace `path` with `text` (UTF-8)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], data: Any, **dumps: Any) -> Path:
    """Replace `path` with `data` as JSON (NaN refused; `dumps` go to `json.dumps`)."""
    options = {"indent": 1, "allow_nan": False, **dumps}
    return write_text_atomic(path, json.dumps(data, **options) + "\n")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path for a tool that writes the file itself (ONNX, torch); on
    success it replaces `path`, on failure it is removed. The temporary name keeps the
    suffix (tools look at it); leftovers of killed processes are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_files(path)
    temp = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        with _naming(path):
            yield temp
            fsync_path(temp)  # the tool wrote it: make its bytes durable before the rename
            os.replace(temp, path)
            fsync_path(path.parent)
    finally:
        temp.unlink(missing_ok=True)


def swap_folder(temp: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Rename the finished folder `temp` to `target` (beside it); a folder already at
    `target` is moved aside first and removed only once the new one is in place, so a
    failure leaves the old one or the new one, never neither. The caller has checked that
    `target` is accel's to replace (`outputs.output_folder` does): it is deleted afterwards."""
    import shutil

    temp, target = Path(temp), Path(target)
    old = target.with_name(f".old-{os.getpid()}-{target.name}")
    for written in [*temp.rglob("*"), temp]:  # tools wrote them: durable before the rename
        if not written.is_symlink():
            fsync_path(written)
    with _naming(target):
        if target.exists():
            os.replace(target, old)
        try:
            os.replace(temp, target)
        except BaseException:
            if old.exists():
                os.replace(old, target)  # the previous folder goes back where it was
            raise
        fsync_path(target.parent)
    shutil.rmtree(old, ignore_errors=True)
    return target


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An OSError without a file name gets `path` (a write() on a full disk names none)."""
    try:
        yield
    except OSError as error:
        if error.filename is None and error.errno is not None:
            raise type(error)(error.errno, error.strerror, str(path)) from error
        raise


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file's or folder's entry to disk (a rename is durable once its folder is)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_files(path: Path) -> list[Path]:
    """Delete `.tmp-<pid>-<name>[.<random>]` files of file `path` whose writer is gone (a
    killed write)."""
    removed = []
    for candidate in path.parent.glob(f".tmp-*-{glob.escape(path.name)}*"):
        match = STALE.fullmatch(candidate.name)
        if match is None or not candidate.is_file() or candidate.is_symlink():
            continue
        rest = match.group(3)
        if rest != path.name and not rest.startswith(f"{path.name}."):
            continue
        if not process_alive(int(match.group(2))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs; this process counts as gone (its own earlier attempt)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
