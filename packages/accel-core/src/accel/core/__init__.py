"""accel core: registry and protocols, config to objects, the training runtime.

Importing this package is cheap (no torch): the runtime lives in submodules.
"""

from importlib.metadata import version as _version

from accel.core.errors import AccelError, ConfigError, MissingPackageError
from accel.core.registry import KINDS, build, register, registry

__version__ = _version("accel-core")
__all__ = [
    "KINDS",
    "AccelError",
    "ConfigError",
    "MissingPackageError",
    "__version__",
    "build",
    "register",
    "registry",
]
