"""Turn a trained model (or a file holding one) into a directory MLflow can log and register.

No pickle: a live `nn.Module` is saved with MLflow's `pt2` format (`torch.export`), an ONNX
file with MLflow's ONNX flavor when `onnx` is installed; any other file is logged as is, with
the files that belong to it (an OpenVINO IR's `.bin`).
"""

from __future__ import annotations

import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

from accel.core.errors import ConfigError
from accel.core.model_files import model_files


def prepare_file(path: Path, target: Path) -> Path:
    """A model directory for a file (`.onnx` as an MLflow ONNX model when possible)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"log_model: {path} does not exist; pass a model file or directory")
    _clear(target)
    if path.is_dir():
        shutil.copytree(path, target)
    elif path.suffix == ".onnx" and _has_onnx():
        _save_onnx(path, target)
    else:
        target.mkdir(parents=True)
        for file in model_files(path):  # external ONNX weights, an IR's .bin travel along
            shutil.copy2(file, target / file.name)
    return target


def prepare_torch(model: Any, input_example: Any, target: Path) -> Path:
    """A pickle-free MLflow PyTorch model (`pt2`, i.e. `torch.export`) of `model`."""
    import numpy as np

    import mlflow.pytorch

    if input_example is None:
        raise ConfigError(
            "log_torch_model: input_example is required (pt2 traces the model with it)"
        )
    _clear(target)
    example = input_example
    if hasattr(example, "detach"):
        example = example.detach().cpu().numpy()
    mlflow.pytorch.save_model(
        model.cpu().eval() if hasattr(model, "eval") else model,
        str(target),
        input_example=np.asarray(example),
        serialization_format="pt2",
        pip_requirements=[f"torch=={version('torch')}"],
    )
    return target


def _save_onnx(path: Path, target: Path) -> None:
    import onnx

    import mlflow.onnx

    mlflow.onnx.save_model(
        onnx.load(str(path)),
        str(target),
        pip_requirements=[f"onnx=={version('onnx')}"],
        save_as_external_data=False,
    )


def _has_onnx() -> bool:
    """MLflow's ONNX flavor needs both onnx and onnxruntime (it validates a session)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _clear(target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
