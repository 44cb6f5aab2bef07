"""accel-compress: prune, reparametrize, quantize, export and verify PyTorch models.

    from accel.compress import prune, quantize, export_onnx, analyze, compress

Importing this package is cheap: torch and the compression libraries load on first use.
"""

from importlib import import_module
from importlib.metadata import version as _version
from typing import Any

__version__ = _version("accel-compress")

_API = {
    "prune": "accel.compress.api",
    "quantize": "accel.compress.api",
    "export": "accel.compress.api",
    "export_onnx": "accel.compress.api",
    "analyze": "accel.compress.api",
    "compress": "accel.compress.api",
    "load_model": "accel.compress.loading",
    "save_pruned": "accel.compress.spec",
    "load_pruned": "accel.compress.spec",
    "OnnxModel": "accel.compress.artifacts",
    "ExportedModel": "accel.compress.artifacts",
    "OpenVinoModel": "accel.compress.artifacts",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'accel.compress' has no attribute {name!r}")
