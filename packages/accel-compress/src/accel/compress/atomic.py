"""Reports and the analysis JSON, written atomically through accel-core's writers.

Folders of results go through `accel.core.outputs.output_folder`; this module writes single
files (inside such a folder, or the one JSON file `accel compress analyze -o` names). A file
that `-o` would replace must be one accel wrote: it carries a `format` key saying so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from accel.core.atomic import atomic_path, write_json_atomic, write_text_atomic
from accel.core.errors import ConfigError

ANALYSIS_FORMAT = "accel.compress.analysis/1"


def write_text(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def write_json(path: Path, data: Any) -> None:
    """Reports: indented, numbers accel could not measure (NaN) kept as JSON has them."""
    write_json_atomic(path, data, indent=2, default=str, allow_nan=True)


def check_owned_json(path: Path, key: str, fmt: str = ANALYSIS_FORMAT) -> None:
    """Refuse `path` unless it is absent or a JSON file accel wrote (`"format": fmt`)."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_file():
        raise ConfigError(f"{key} {path} is not a plain file: name a new .json file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ConfigError(
            f"{key} {path} exists and was not written by accel compress analyze: it would be "
            "lost, so nothing was written; name a new file"
        )


def write_owned_json(
    path: Path, data: dict[str, Any], key: str, fmt: str = ANALYSIS_FORMAT
) -> None:
    """Write `data` with `"format": fmt` first, replacing only a file accel wrote."""
    check_owned_json(path, key, fmt)
    write_json(path, {"format": fmt, **data})


__all__ = ["atomic_path", "check_owned_json", "write_json", "write_owned_json", "write_text"]
