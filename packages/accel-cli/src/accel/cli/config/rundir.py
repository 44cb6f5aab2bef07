"""Run directories `runs/<date>/<time>[-<n>]`: created once, holding config, overrides and log."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from accel.core.atomic import write_text_atomic

RUN_DIR_ENV = "ACCEL_RUN_DIR"
LOG_NAME = "accel.log"


def claim_run_dir(base: str | Path, job: int | None = None) -> Path:
    """Create and return a new folder: `base` (`base-<job>` in a sweep), `-<n>` if taken.

    A process started by another accel process (e.g. `accelerate launch`) reuses the folder
    named by `$ACCEL_RUN_DIR`, so every process of one run writes to the same place.
    """
    inherited = os.environ.get(RUN_DIR_ENV)
    if inherited:
        path = Path(inherited)
        path.mkdir(parents=True, exist_ok=True)
        return path
    stem = Path(f"{base}-{job}") if job is not None else Path(base)
    candidate, n = stem, 0
    while True:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return candidate
        except FileExistsError:
            n += 1
            candidate = Path(f"{stem}-{n}")


def save_run_files(run_dir: Path, config: Mapping[str, Any], overrides: list[str]) -> None:
    """Write `config.yaml` (resolved) and `overrides.yaml` into the run directory."""
    import yaml

    write_text_atomic(run_dir / "config.yaml", yaml.safe_dump(dict(config), sort_keys=False))
    write_text_atomic(run_dir / "overrides.yaml", yaml.safe_dump(list(overrides)))


@contextlib.contextmanager
def log_to(run_dir: Path) -> Iterator[Path]:
    """Copy every log record (level INFO and up) to `<run_dir>/accel.log` while running."""
    path = run_dir / LOG_NAME
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(previous, logging.INFO) if previous else logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()
