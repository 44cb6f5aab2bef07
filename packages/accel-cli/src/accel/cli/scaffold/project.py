"""The project's `configs/` folder: create a minimal one, copy every default, compare, remove."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from accel.cli.config.compose import packaged_file, packaged_files
from accel.cli.config.groups import PRIMARY_PACKAGED, PRIMARY_PROJECT
from accel.cli.scaffold.index import write_indexes
from accel.core.atomic import write_text_atomic
from accel.core.errors import ConfigError

MINIMAL_MAIN = """\
# This project's config: accel's packaged defaults first, then what this file sets.
# Group folders beside this file add or replace options (see each INDEX.md).
defaults:
  - accel
  - _self_

# For example:
# trainer:
#   max_epochs: 20
"""


def init_project(configs: Path, force: bool = False) -> list[Path]:
    """A minimal `configs/main.yaml` and an INDEX.md per group."""
    main = configs / f"{PRIMARY_PROJECT}.yaml"
    if main.exists() and not force:
        raise ConfigError(f"{main} exists already: use --force to replace it")
    return [write_text_atomic(main, MINIMAL_MAIN), *write_indexes(configs)]


def copy_defaults(configs: Path, force: bool = False) -> list[Path]:
    """Copy every packaged config (accel-cli's and the installed domain packages') into
    `configs/` (the packaged main becomes `main.yaml`)."""
    written = []
    for relative, source in packaged_files().items():
        if relative == Path(f"{PRIMARY_PACKAGED}.yaml"):
            relative = Path(f"{PRIMARY_PROJECT}.yaml")
        target = configs / relative
        if target.exists() and not force:
            continue
        written.append(write_text_atomic(target, source.read_text(encoding="utf-8")))
    return [*written, *write_indexes(configs)]


def project_files(configs: Path) -> list[tuple[str, str]]:
    """`(file, what it does)` for each YAML file of the project."""
    rows = []
    for path in sorted(configs.rglob("*.yaml")):
        relative = path.relative_to(configs)
        if relative == Path(f"{PRIMARY_PROJECT}.yaml"):
            role = "primary config"
        else:
            packaged = packaged_file(relative) is not None
            role = "replaces a packaged option" if packaged else "adds an option"
        rows.append((str(relative), role))
    return rows


def changed_values(
    project: Mapping[str, Any], defaults: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """`(key, default, project value)` for every leaf that differs (run dir excluded)."""
    ours = dict(_flatten(project))
    theirs = dict(_flatten(defaults))
    keys = sorted(set(ours) | set(theirs))
    return [
        (k, theirs.get(k, "-"), ours.get(k, "-"))
        for k in keys
        if ours.get(k, "-") != theirs.get(k, "-") and k != "trainer.run_dir"
    ]


def _flatten(node: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def remove_project(configs: Path) -> None:
    if not configs.is_dir():
        raise ConfigError(f"{configs}: no project configs to remove")
    shutil.rmtree(configs)
