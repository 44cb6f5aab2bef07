"""Import an optional dependency, or say in one line what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from accel.core.errors import MissingPackageError


def require(module: str, package: str, feature: str) -> ModuleType:
    """Import `module`; if it is missing, raise `<feature> needs <package>: pip install ...`."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not module.startswith(error.name):
            raise  # the module exists but one of *its* imports is broken: show that
        raise MissingPackageError(feature, package) from None
