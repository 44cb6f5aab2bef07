"""accel tabular: CSV data with schemas, fitted preprocessing, MLPs, regression metrics."""

from importlib.metadata import version as _version

__version__ = _version("accel-tabular")
