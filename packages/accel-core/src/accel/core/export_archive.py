"""Open `torch.export` archives (`.pt2`) from strangers without running code from them.

`torch.export.load` is not pickle-free: it unpickles each program's sample inputs (falling back
to a full pickle when weights-only loading fails), unpickles weights and constants marked
`use_pickle`, loads custom and opaque objects with pickle, and reads older formats with a full
pickle. `check_export_archive` reads the zip first and refuses, in one line, every member that
would be unpickled with anything beyond tensors (tried with `torch.load(weights_only=True)`, which
never runs a file's code), compiled code (AOTInductor, ExecuTorch), and the older formats.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from accel.core.trust import TRUST_FLAG, UntrustedFileError, files_trusted

WEIGHTS, CONSTANTS, SAMPLES = "data/weights/", "data/constants/", "data/sample_inputs/"
COMPILED = ("data/aotinductor/", "data/executorch/", "data/mtia", "xl_model_weights/")
PICKLED_OBJECTS = ("custom_obj_", "opaque_obj_")


class ArchiveError(UntrustedFileError):
    """A `.pt2` archive holds something torch would unpickle or run as native code."""


def check_export_archive(path: str | os.PathLike[str]) -> None:
    """Raise ArchiveError unless loading `path` with `torch.export.load` unpickles tensors only."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = _relative_members(archive)
            _check_members(path, archive, members)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as error:
        raise ArchiveError(f"{path} is not a readable .pt2 archive: {error}") from None


def load_exported_program(path: str | os.PathLike[str], *, trust: bool | None = None) -> Any:
    """`torch.export.load(path)`, after `check_export_archive` unless the file is trusted."""
    import torch

    trusted = files_trusted() if trust is None else trust
    if not trusted:
        check_export_archive(path)
    try:
        return torch.export.load(str(path))
    except Exception as error:  # a corrupt or foreign archive: one line, not torch's traceback
        text = " ".join(str(error).split())[:300] or type(error).__name__
        raise ArchiveError(f"{path}: torch.export.load failed: {text}") from None


def _relative_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """`{name inside the package: zip member name}` (torch prefixes every member with a root)."""
    names = [n for n in archive.namelist() if not n.endswith("/")]
    return {str(PurePosixPath(*PurePosixPath(n).parts[1:])): n for n in names if "/" in n}


def _check_members(path: Path, archive: zipfile.ZipFile, members: dict[str, str]) -> None:
    if "archive_format" not in members:
        raise _refuse(path, "is not a current torch.export archive (older formats load with a "
                      "full pickle): re-save it with torch.export.save")  # fmt: skip
    for name in members:
        if name.startswith(COMPILED):
            raise _refuse(path, f"holds compiled native code ({name})")
        if name.startswith(SAMPLES):
            _check_tensors_only(path, archive, members[name], name)
        if name.startswith((WEIGHTS, CONSTANTS)) and name.endswith(".pt"):  # a legacy payload
            _check_tensors_only(path, archive, members[name], name)
        if name.endswith("_config.json") and name.startswith((WEIGHTS, CONSTANTS)):
            _check_payload_config(path, archive, members, name)


def _check_payload_config(
    path: Path, archive: zipfile.ZipFile, members: dict[str, str], name: str
) -> None:
    folder = WEIGHTS if name.startswith(WEIGHTS) else CONSTANTS
    config = json.loads(archive.read(members[name]))
    entries = config.get("config", {}) if isinstance(config, dict) else {}
    for fqn, meta in entries.items():
        file = str(meta.get("path_name", "")) if isinstance(meta, dict) else ""
        if file.startswith(PICKLED_OBJECTS):
            raise _refuse(path, f"holds a pickled object for {fqn!r} ({folder}{file})")
        if isinstance(meta, dict) and meta.get("use_pickle"):
            member = members.get(folder + file)
            if member is None:
                raise _refuse(path, f"names a pickled payload {folder}{file} it does not hold")
            _check_tensors_only(path, archive, member, folder + file)


def _check_tensors_only(path: Path, archive: zipfile.ZipFile, member: str, name: str) -> None:
    import pickle

    import torch

    try:
        torch.load(io.BytesIO(archive.read(member)), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError) as error:
        found = re.search(r"GLOBAL (\S+)", str(error))
        what = f"it calls {found.group(1)}" if found else "more than tensors"
        raise _refuse(
            path, f"holds {name}, which torch would unpickle with code ({what})"
        ) from None


def _refuse(path: Path, what: str) -> ArchiveError:
    return ArchiveError(
        f"{path} {what}, so it was not loaded; pass {TRUST_FLAG} only if you trust where the "
        "file comes from"
    )
