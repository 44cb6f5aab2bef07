"""Read a safetensors file's header (names, dtypes, shapes, offsets) without its tensors.

A safetensors file is an 8-byte little-endian header length, a JSON header, then the data.
The file is untrusted: the header length, its JSON and every offset are checked, and a file
shorter than its header says is reported as truncated, in one line.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from accel.core.checkpoint.codec import CheckpointError

MAX_HEADER = 100 * 2**20  # safetensors itself refuses headers over 100 MB
SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
         "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}  # fmt: skip


@dataclass(frozen=True)
class TensorEntry:
    """One tensor as the header describes it."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class SafetensorsHeader:
    """The tensors of a file, its data size as the header states it, and its actual size."""

    path: Path
    tensors: dict[str, TensorEntry]
    metadata: dict[str, str]
    data_start: int
    data_size: int
    file_size: int

    def truncation(self) -> str | None:
        """One line if the file holds fewer bytes than its header needs, else None."""
        needed = self.data_start + self.data_size
        if self.file_size >= needed:
            return None
        return (
            f"{self.path} is truncated: its header needs {needed} bytes, the file holds "
            f"{self.file_size} (a copy or a write that did not finish)"
        )


def read_header(path: str | os.PathLike[str]) -> SafetensorsHeader:
    """The header of the safetensors file at `path`, checked; the data is not read."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{path} is truncated: {size} bytes, not a safetensors file")
            (length,) = struct.unpack("<Q", prefix)
            if length > min(MAX_HEADER, size - 8):
                raise CheckpointError(
                    f"{path}: header length {length} does not fit the file ({size} bytes): "
                    "truncated or not a safetensors file"
                )
            raw = json.loads(handle.read(length))
    except OSError as error:
        raise CheckpointError(f"{path} is unreadable: {error.strerror or error}") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"{path}: the header is not JSON ({error})") from None
    return _parse(path, raw, 8 + length, size)


def _parse(path: Path, raw: object, data_start: int, file_size: int) -> SafetensorsHeader:
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: the header is not a JSON object")
    metadata = raw.pop("__metadata__", None) or {}
    tensors, end = {}, 0
    for name, info in raw.items():
        tensors[name] = entry = _entry(path, name, info)
        end = max(end, entry.end)
    return SafetensorsHeader(path, tensors, dict(metadata), data_start, end, file_size)


def _entry(path: Path, name: str, info: object) -> TensorEntry:
    entry = _valid_entry(name, info)
    if entry is None:
        raise CheckpointError(
            f"{path}: tensor {name!r} has a malformed header entry: {str(info)[:200]}"
        )
    return entry


def _valid_entry(name: str, info: object) -> TensorEntry | None:
    if not isinstance(info, dict):
        return None
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in SIZES or not isinstance(shape, list) or not isinstance(offsets, list):
        return None
    if len(offsets) != 2 or not all(_count(v) for v in [*shape, *offsets]):
        return None
    start, end = offsets
    if not start <= end or end - start != math.prod(shape) * SIZES[str(dtype)]:
        return None
    return TensorEntry(name, str(dtype), tuple(shape), start, end)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
