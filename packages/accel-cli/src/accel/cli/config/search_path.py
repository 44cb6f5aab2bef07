"""Hydra initialized for accel through its public API: the config search path is Hydra's own
configs, the project's folder, accel's packaged configs, then structured configs (schemas).

The project's folder is the primary config folder (`hydra.initialize_config_dir`), and a
`SearchPathPlugin`, registered with Hydra's `Plugins.register`, appends the packaged folders after
it (accel-cli's, then those of installed domain packages, see `compose.domain_config_dirs`),
so a project file shadows the packaged file of the same name. (A `hydra.searchpath` entry
would not do: Hydra looks for the primary config only in the primary folder, and a project
without `main.yaml` takes its primary config, `accel.yaml`, from the packaged folder.)

Imported only when composing: it imports Hydra.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from hydra import initialize_config_dir
from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.global_hydra import GlobalHydra
from hydra.core.plugins import Plugins
from hydra.plugins.search_path_plugin import SearchPathPlugin

# Hydra's version base: no automatic schema matching between files and registry-made options.
VERSION_BASE = "1.3"

# The folders the plugin appends, set only while accel initializes Hydra.
_APPENDED: ContextVar[tuple[str, ...] | None] = ContextVar("accel_appended_configs", default=None)


class PackagedConfigs(SearchPathPlugin):
    """Appends accel's packaged configs after the primary folder while accel initializes Hydra
    (a Hydra app of someone else's in the same process is left alone)."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        for path in _APPENDED.get() or ():
            search_path.append(provider="accel", path=path)


@contextmanager
def hydra_initialized(primary: Path, then: Sequence[Path] = ()) -> Iterator[None]:
    """Hydra initialized while the block runs: `primary` is the primary config folder, `then`
    the folders searched after it, in order."""
    Plugins.instance().register(PackagedConfigs)  # registered once: Hydra skips a known class
    GlobalHydra.instance().clear()  # one left initialized (a crashed caller) refuses another
    token = _APPENDED.set(tuple(f"file://{folder}" for folder in then))
    try:  # Hydra builds the search path here, asking the plugin
        initialized = initialize_config_dir(
            str(primary), job_name="accel", version_base=VERSION_BASE
        )
    finally:
        _APPENDED.reset(token)
    with initialized:
        yield
