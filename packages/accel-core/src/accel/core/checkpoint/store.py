"""Checkpoint directories on disk: atomic write, the `last` pointer, resolution and loading.

A checkpoint is a directory `<name>/` with `tensors.safetensors` and `manifest.json`. It is
written under a temporary name, fsynced, then renamed into place; `last` (a small JSON file)
is replaced atomically afterwards, so a kill at any moment leaves the previous one loadable.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from accel.core.atomic import fsync_path, write_json_atomic
from accel.core.checkpoint.codec import CheckpointError
from accel.core.checkpoint.migrate import upgrade_manifest
from accel.core.checkpoint.safetensors_writer import write_safetensors
from accel.core.names import is_plain_name

TENSORS, MANIFEST, LAST, FORMAT = "tensors.safetensors", "manifest.json", "last", "accel.checkpoint"
TMP_PREFIX = ".tmp-"


def write_checkpoint(
    directory: Path,
    name: str,
    manifest: Mapping[str, Any],
    tensors: Mapping[str, torch.Tensor],
    *,
    point_last: bool = True,
) -> Path:
    """Write checkpoint `directory/name` atomically and point `last` at it; return its path.

    A full disk is one CheckpointError naming the folder and the space needed; the previous
    checkpoint stays whole and `last` keeps pointing at it. `point_last=False` writes no
    `last` pointer (a checkpoint made from others, outside a run).
    """
    try:
        return _write_checkpoint(directory, name, manifest, tensors, point_last)
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise disk_full(directory, name, tensors) from None


def disk_full(directory: Path, name: str, tensors: Mapping[str, torch.Tensor]) -> CheckpointError:
    """The one-line error for a checkpoint that did not fit on the disk."""
    needed = sum(t.numel() * t.element_size() for t in tensors.values())
    try:
        free = f"{shutil.disk_usage(directory).free / 2**20:.1f} MB free"
    except OSError:
        free = "free space unknown"
    kept = read_last(directory)
    return CheckpointError(
        f"no space left on the device of {directory} to write checkpoint {name} (needs about "
        f"{needed / 2**20:.1f} MB, {free}); the last good checkpoint is kept: "
        f"{kept or 'none yet'}. Free some space and resume with resume={directory.parent}"
    )


def read_last(directory: Path) -> str | None:
    """The checkpoint `directory/last` points at, or None."""
    try:
        name = json.loads((directory / LAST).read_text())["checkpoint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(directory / str(name))


def _write_checkpoint(
    directory: Path,
    name: str,
    manifest: Mapping[str, Any],
    tensors: Mapping[str, torch.Tensor],
    point_last: bool,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    remove_temporaries(directory)

    def fill(folder: Path) -> None:
        write_safetensors(str(folder / TENSORS), tensors, {"format": FORMAT})
        write_manifest(folder, manifest)

    final = publish_checkpoint(directory, name, fill, replace=True)
    if point_last:
        write_json_atomic(directory / LAST, {"checkpoint": name})
    return final


def publish_checkpoint(
    directory: Path, name: str, fill: Callable[[Path], None], *, replace: bool = False
) -> Path:
    """`directory/name` made whole or not at all: `fill(folder)` writes the checkpoint's files
    into a fresh private folder beside it, which is made durable and renamed into place. With
    `replace`, a stale copy at that name (an interrupted run's) is removed just before the
    rename; the folder accel made is removed if anything fails."""
    tmp = Path(tempfile.mkdtemp(dir=directory, prefix=f"{TMP_PREFIX}{name}-"))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a checkpoint is shared like any output
    try:
        fill(tmp)
        for written in (tmp / TENSORS, tmp / MANIFEST, tmp):
            fsync_path(written)
        final = directory / name
        if replace and final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_path(directory)
    return final


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    """`folder/manifest.json` (strict JSON: no NaN)."""
    with open(folder / MANIFEST, "w") as handle:
        json.dump(manifest, handle, indent=1, allow_nan=False)


def remove_temporaries(directory: Path) -> None:
    """Delete half-written checkpoints left by a killed process."""
    for path in directory.glob(TMP_PREFIX + "*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """A checkpoint directory from itself, a `last` pointer, a checkpoints dir or a run dir."""
    given = Path(path)
    candidates = [given, given / "checkpoints"]
    for candidate in candidates:
        if (candidate / MANIFEST).is_file():
            return candidate
        pointer = candidate if candidate.name == LAST else candidate / LAST
        if pointer.is_file():
            try:
                name = json.loads(pointer.read_text())["checkpoint"]
            except (ValueError, KeyError, TypeError) as error:
                raise CheckpointError(
                    f"checkpoint pointer {pointer} is unreadable: {error}"
                ) from None
            if not is_plain_name(name):
                raise CheckpointError(
                    f"checkpoint pointer {pointer} names {name!r}: expected the name of a "
                    "checkpoint folder beside it (no path separators or '..')"
                )
            target = pointer.parent / name
            if not (target / MANIFEST).is_file():
                raise CheckpointError(
                    f"checkpoint pointer {pointer} names {name!r}, which is missing"
                )
            return target
    raise CheckpointError(
        f"no checkpoint at {given}: expected a checkpoint directory (with {MANIFEST}), "
        f"a '{LAST}' pointer, or a run directory with checkpoints/{LAST}"
    )


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The manifest and the tensors (on CPU) of the checkpoint at `path`."""
    manifest = read_manifest(path)
    directory = Path(manifest["path"])
    try:
        tensors = load_file(str(directory / TENSORS), device="cpu")
    except Exception as error:  # OSError and safetensors errors alike: one line
        raise CheckpointError(f"checkpoint {directory} is unreadable: {error}") from None
    return manifest, tensors


def read_manifest(path: str | os.PathLike[str], *, upgrade: bool = True) -> dict[str, Any]:
    """The manifest of the checkpoint at `path` (with `path` set), without reading tensors,
    upgraded to the current format version (`upgrade=False`: as stored)."""
    directory = resolve_checkpoint(path)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except Exception as error:  # OSError, JSON and decoding errors alike: one line
        raise CheckpointError(f"checkpoint {directory} is unreadable: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{directory / MANIFEST} is not an accel checkpoint manifest")
    if upgrade:  # an older format reads as the current one; a newer one is refused
        manifest, _ = upgrade_manifest(manifest, str(directory / MANIFEST))
    manifest["path"] = str(directory)
    return manifest


def list_checkpoints(directory: Path) -> list[Path]:
    """Complete checkpoint directories under `directory`."""
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_dir() and not p.name.startswith(TMP_PREFIX) and (p / MANIFEST).is_file()
    )
