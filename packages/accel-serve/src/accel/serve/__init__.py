"""accel serve: a model behind the Open Inference Protocol (KServe V2), with dynamic batching,
backpressure, Prometheus metrics and input validation against the model's signature."""

from importlib.metadata import version as _version

__version__ = _version("accel-serve")
__all__ = ["__version__"]
