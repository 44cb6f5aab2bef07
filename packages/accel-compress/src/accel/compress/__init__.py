"""accel-compress."""

from importlib.metadata import version as _version

__version__ = _version("accel-compress")
