"""Checkpoint format versions and the steps that upgrade an older manifest to the current one.

Each step is registered for the version it upgrades from and turns a manifest of version N
into one of version N + 1 (a new dict; the tensors never change). `upgrade_manifest` runs them
in order, so every reader sees the current layout; a manifest newer than this accel-core is
refused with one line. `accel checkpoint migrate` writes the upgraded manifest to disk.

Format history:
- 1: manifest with `state` (the encoded training state, weights under `state.model`).
- 2: adds `weights` (named weight sets -> their key path in the state: `raw` is `["model"]`,
  averaging callbacks add `ema`/`swa`) and `default_weights` (the set testing and exporting
  use unless told otherwise).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from accel.core.checkpoint.codec import CheckpointError

FORMAT_VERSION = 2
Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}


def register_migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register the step that upgrades a manifest of `from_version` to `from_version + 1`."""

    def add(step: Migration) -> Migration:
        if from_version in MIGRATIONS:
            raise ValueError(f"a migration from format version {from_version} exists already")
        MIGRATIONS[from_version] = step
        return step

    return add


def stored_version(manifest: Mapping[str, Any], source: str) -> int:
    """The manifest's `format_version`, checked to be one this accel-core can read."""
    found = manifest.get("format_version")
    if isinstance(found, bool) or not isinstance(found, int) or found < 1:
        raise CheckpointError(
            f"{source}: format_version is {found!r}; expected an int from 1 to {FORMAT_VERSION}"
        )
    if found > FORMAT_VERSION:
        raise CheckpointError(
            f"{source}: format_version {found} is newer than this accel-core reads "
            f"({FORMAT_VERSION}): upgrade accel-core to read it"
        )
    return found


def upgrade_manifest(manifest: Mapping[str, Any], source: str) -> tuple[dict[str, Any], list[int]]:
    """`(manifest at FORMAT_VERSION, versions it was upgraded from)`; the input is untouched."""
    version = stored_version(manifest, source)
    upgraded, steps = dict(manifest), []
    while version < FORMAT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:  # a gap in the registry is a bug of accel-core, said plainly
            raise CheckpointError(f"{source}: no migration from format version {version}")
        upgraded = step(upgraded)
        steps.append(version)
        version += 1
        upgraded["format_version"] = version
    return upgraded, steps


@register_migration(1)
def add_weight_sets(manifest: dict[str, Any]) -> dict[str, Any]:
    """1 -> 2: name the raw weights (`state.model`) as the one weight set and the default."""
    state = manifest.get("state")
    has_model = isinstance(state, Mapping) and state.get("model") is not None
    weights = {"raw": ["model"]} if has_model else {}
    return {**manifest, "weights": weights, "default_weights": "raw"}


def migrate_checkpoint(
    path: str | os.PathLike[str], out: str | os.PathLike[str] | None = None
) -> tuple[Path, list[int]]:
    """Write the checkpoint at `path` upgraded to FORMAT_VERSION as a new checkpoint `out`
    (default: `<name>-v<FORMAT_VERSION>` beside it); the tensor file is copied unchanged.
    Returns the new path and the versions upgraded from (none: it is current, nothing written).
    """
    from accel.core.checkpoint.store import (
        MANIFEST,
        TENSORS,
        publish_checkpoint,
        read_manifest,
        write_manifest,
    )

    stored = read_manifest(path, upgrade=False)
    source = Path(stored.pop("path"))
    upgraded, steps = upgrade_manifest(stored, str(source / MANIFEST))
    if not steps:
        return source, []
    target = Path(out) if out is not None else source.with_name(f"{source.name}-v{FORMAT_VERSION}")
    if target.exists():
        raise CheckpointError(f"{target} exists; choose another output (nothing is overwritten)")
    target.parent.mkdir(parents=True, exist_ok=True)

    def fill(folder: Path) -> None:
        shutil.copyfile(source / TENSORS, folder / TENSORS)
        write_manifest(folder, upgraded)

    return publish_checkpoint(target.parent, target.name, fill), steps
