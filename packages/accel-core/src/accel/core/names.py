"""Names that become paths (step folders, run dirs, generated files) are checked here, once.

A name read from a file or typed on the command line must stay one folder or file name inside
the root it is meant for: no separators, no `..`, no control characters, nothing that could
write (or delete) outside that root.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from accel.core.errors import ConfigError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FOLDER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.=+-]*")
MAX_LENGTH = 128


def is_plain_name(name: object) -> bool:
    """A single path component: no separator, not `.`/`..`, no control character."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and len(name) <= 255
        and not any(c in name for c in "/\\")
        and name.isprintable()
    )


def check_name(name: object, key: str, *, identifier: bool = False) -> str:
    """`name` if it is a safe folder name (or a Python identifier), else a ConfigError naming
    `key` and what is valid."""
    pattern, what = (
        (IDENTIFIER, "a Python identifier (letters, digits, _)")
        if identifier
        else (FOLDER_NAME, "letters, digits and _ . = + - (not starting with . or -)")
    )
    text = name if isinstance(name, str) else ""
    if not text or len(text) > MAX_LENGTH or not pattern.fullmatch(text) or ".." in text:
        raise ConfigError(f"{key}={name!r}: expected a name of up to {MAX_LENGTH} {what}")
    return text


def check_inside(path: str | os.PathLike[str], root: str | os.PathLike[str], key: str) -> Path:
    """`path` resolved, if it lies inside `root` (symlinks followed); else a ConfigError."""
    resolved, base = Path(path).resolve(), Path(root).resolve()
    if resolved != base and base not in resolved.parents:
        raise ConfigError(f"{key}={str(path)!r}: expected a path inside {base}")
    return resolved
