"""A project's own plugins (`plugins/` beside `configs/`), usable before they are installed.

`accel add loss my_loss` writes a plugin package with its entry points; until the user runs
`pip install -e plugins`, the CLI reads those entry points from `plugins/pyproject.toml` and
registers each name lazily (its module is imported only when a config builds it).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

from accel.core.errors import ConfigError
from accel.core.registry import KINDS, import_dotted, registry

PLUGINS_DIR = "plugins"


class Deferred:
    """A factory that imports its target on first call (listing stays import-free).

    The target is the project's own entry-point declaration, not a config's `_target_`: it is
    imported unchecked (`import_dotted`), so a file naming the plugin by registry name loads.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.__name__ = target.rpartition(":")[2] or target
        self.__module__ = target.partition(":")[0]
        self.__qualname__ = self.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return import_dotted(self.target)(*args, **kwargs)


def project_entry_points(root: Path) -> dict[str, dict[str, str]]:
    """`{kind: {name: "module:attr"}}` declared in `<root>/plugins/pyproject.toml`."""
    path = root / PLUGINS_DIR / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    groups = data.get("project", {}).get("entry-points", {})
    found: dict[str, dict[str, str]] = {}
    for group, items in groups.items():
        kind = group.removeprefix("accel.")
        if group.startswith("accel.") and kind in KINDS and isinstance(items, dict):
            found[kind] = {str(k): str(v) for k, v in items.items()}
    return found


def load_project_plugins(root: Path | None = None) -> list[str]:
    """Register the project's uninstalled plugins; returns `kind/name` of each one added."""
    root = root or Path.cwd()
    declared = project_entry_points(root)
    if not declared:
        return []
    source = str((root / PLUGINS_DIR / "src").resolve())
    if source not in sys.path:
        sys.path.insert(0, source)
    added = []
    for kind, names in declared.items():
        reg = registry(kind)
        for name, target in names.items():
            if name in reg and reg.entry(name).target.replace(":", ".") == target.replace(":", "."):
                continue  # installed already (pip install -e plugins): the same object
            reg.add(name, Deferred(target), override=True)
            added.append(f"{kind}/{name}")
    return added
