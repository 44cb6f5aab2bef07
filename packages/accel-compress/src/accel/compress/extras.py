"""The optional toolchains of accel-compress, one extra each, and the one-line install hint.

`pip install accel-compress` prunes, reparametrizes and exports `.pt2`; ONNX (export, ONNX
Runtime int8, `.onnx` models) needs `[ort]`, PT2E/torchao int8 `[torchao]`, OpenVINO + NNCF
int8 `[openvino]`, report.png `[plot]`.
Features check their extra when they are set up (a pass's constructor, a model's suffix), so a
missing one is one line naming what to install before any model or data loads.
"""

from __future__ import annotations

from accel.core.errors import MissingPackageError
from accel.core.optional import require

ONNX = "ONNX (export, ONNX Runtime int8)"  # what `[ort]` gives: one name for both passes
MODULES: dict[str, tuple[str, ...]] = {
    "ort": ("onnx", "onnxruntime"),
    "torchao": ("torchao",),
    "openvino": ("openvino", "nncf"),
    "plot": ("matplotlib",),
}


def package(extra: str) -> str:
    """What to install for `extra`, quoted for a shell: `'accel-compress[ort]'`."""
    return f"'accel-compress[{extra}]'"


def need(extra: str, feature: str) -> None:
    """Import the modules of `extra`, or raise `<feature> needs 'accel-compress[extra]': pip
    install 'accel-compress[extra]'` (a MissingPackageError, so one line on the command line)."""
    for module in MODULES[extra]:
        require(module, package(extra), feature)


def missing(extra: str, feature: str) -> str | None:
    """The install hint when `extra` is missing, else None (for features that are skipped)."""
    try:
        need(extra, feature)
    except MissingPackageError as error:
        return str(error)
    return None
