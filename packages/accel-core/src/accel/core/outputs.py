"""Output folders that accel owns: assembled aside, swapped in whole, never over a user's files.

`output_folder(path, owner=...)` yields a temporary folder beside `path`; on success it replaces
`path` in one rename, so a failure (or a kill) leaves an earlier good result untouched. Every
folder accel writes this way carries `.accel-output.json`, the list of the files it wrote. That
list is what lets accel replace a previous result and tidy up after a killed run, and refuse
anything else:

- `path` is a file, or the folder you are in (or above it): refused;
- `path` holds a file accel did not write (not in the list): refused, nothing is touched;
- a `.tmp-<pid>-<name>` / `.old-<pid>-<name>` left by a killed run of the same output is
  removed on the next run, only when it carries the marker and its process is gone.

`check_output_folder` runs the same checks alone, so a command can refuse a bad `-o` before
its expensive work starts.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from accel.core.atomic import STALE, process_alive, remove_stale_files, swap_folder
from accel.core.errors import ConfigError

MARKER = ".accel-output.json"
SHOWN = 3


def check_output_folder(path: str | os.PathLike[str], key: str = "output") -> Path:
    """`path` (absolute) if accel may write its output there; else a ConfigError saying why."""
    target = Path(path).absolute()
    here = Path.cwd().resolve()
    if target.resolve() == here or target.resolve() in here.parents:
        raise ConfigError(
            f"{key} {path}: the folder you are in (or one above it) cannot be replaced by an "
            "output; name a new folder, e.g. compressed"
        )
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ConfigError(f"{key} {path} is a file, not a folder: name a new or empty folder")
    foreign = foreign_files(target)
    if foreign:
        more = f" and {len(foreign) - SHOWN} more" if len(foreign) > SHOWN else ""
        raise ConfigError(
            f"{key} {path} holds files accel did not write ({', '.join(foreign[:SHOWN])}{more}); "
            "they would be lost, so nothing was written: name a new or empty folder"
        )
    return target


def foreign_files(folder: Path) -> list[str]:
    """Files (relative) in `folder` that its accel marker does not list; [] for no folder."""
    if not folder.is_dir():
        return []
    found = sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir() or p.is_symlink()
    )
    owned = set(owned_files(folder) or ())
    return [f for f in found if f != MARKER and f not in owned]


def owned_files(folder: Path) -> list[str] | None:
    """The files accel's marker in `folder` lists, or None without a (readable) marker."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return [str(f) for f in files] if isinstance(files, list) else []


@contextmanager
def output_folder(
    path: str | os.PathLike[str], *, owner: str, key: str = "output"
) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it replaces folder `path` as a whole."""
    target = check_output_folder(path, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    temp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    write_marker(temp, owner, files=None)
    try:
        yield temp
        write_marker(temp, owner, files=_listing(temp))
        check_output_folder(target, key)  # nothing of the user's appeared while we worked
        swap_folder(temp, target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def write_marker(folder: Path, owner: str, files: list[str] | None) -> None:
    data = {"owner": owner, "pid": os.getpid(), "written": time.time(), "files": files}
    (folder / MARKER).write_text(json.dumps(data, indent=1), encoding="utf-8")


def _listing(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if (not p.is_dir() or p.is_symlink()) and p.name != MARKER
    )


def remove_stale(target: Path) -> list[Path]:
    """Remove `.tmp-<pid>-<name>` / `.old-<pid>-<name>` of `target` left by dead processes,
    when they carry accel's marker (a folder accel cannot prove is its own stays)."""
    removed = []
    for candidate in target.parent.glob(f".*-*-{glob.escape(target.name)}"):
        match = STALE.fullmatch(candidate.name)
        if match is None or match.group(3) != target.name or not candidate.is_dir():
            continue
        if process_alive(int(match.group(2))):
            continue
        if owned_files(candidate) is None and any(candidate.iterdir()):
            continue  # not provably ours (an empty one is: killed between mkdir and marker)
        shutil.rmtree(candidate, ignore_errors=True)
        removed.append(candidate)
    return removed


__all__ = [
    "MARKER",
    "check_output_folder",
    "foreign_files",
    "output_folder",
    "process_alive",
    "remove_stale",
    "remove_stale_files",
]
