"""MLflow model URIs (`models:/name@alias`, `models:/name/3`, `runs:/<run id>/path`).

The URI is fetched to a local folder with MLflow's public API (`mlflow.artifacts.
download_artifacts`, which reads `MLFLOW_TRACKING_URI` / `MLFLOW_REGISTRY_URI` as MLflow
always does), then opened through the same loading policy as a local path: an MLflow model
with the ONNX flavor serves its ONNX file; an artifact folder that is an accel checkpoint, an
`accel compress` output or holds `model.onnx` opens as that. Other flavors (a pickled PyTorch
or pyfunc model) would run code when loaded and are refused. Needs `accel-serve[mlflow]`.
"""

from __future__ import annotations

from pathlib import Path

from accel.core.errors import ConfigError
from accel.core.names import check_name
from accel.core.optional import require
from accel.serve.errors import ModelLoadError

SCHEMES = ("models:/", "runs:/")
PACKAGE = "'accel-serve[mlflow]'"
MLMODEL = "MLmodel"


def is_model_uri(text: str) -> bool:
    return text.startswith(SCHEMES)


def require_mlflow(uri: str) -> None:
    """mlflow, or one line: `serving models:/... needs 'accel-serve[mlflow]': pip install ...`."""
    require("mlflow", PACKAGE, f"serving {uri}")


def uri_name(uri: str) -> str:
    """The model name a URI gives: `models:/NAME@alias` -> NAME, `runs:/id/path/NAME` -> NAME."""
    rest = uri.split(":/", 1)[1].strip("/")
    if uri.startswith("models:/"):
        name = rest.split("@", 1)[0].split("/", 1)[0]
    else:
        name = rest.rsplit("/", 1)[-1]
    if not name or (uri.startswith("runs:/") and "/" not in rest):
        raise ConfigError(
            f"{uri}: expected models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/PATH"
        )
    try:
        return check_name(name, "model name")
    except ConfigError:
        raise ConfigError(f"{uri}: {name!r} cannot name a served model: write NAME={uri}") from None


def fetch_model(uri: str, target: Path) -> Path:
    """What `uri` names, downloaded into `target` (a folder accel-serve owns and removes once
    the model is loaded), as the local path `open_model` opens (see the module docstring)."""
    require_mlflow(uri)
    import mlflow.artifacts

    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target)))
    except Exception as error:
        text = " ".join(str(error).split())[:300] or type(error).__name__
        raise ModelLoadError(f"{uri}: MLflow could not fetch it: {text}") from None
    if local.is_dir() and (local / MLMODEL).is_file():
        return flavor_file(uri, local)
    return local


def flavor_file(uri: str, folder: Path) -> Path:
    """The model file of an MLflow model folder: its ONNX flavor's file, or the folder itself
    when it is also something accel opens (a checkpoint, a compress output, `model.onnx`)."""
    from mlflow.models import Model

    flavors = Model.load(str(folder / MLMODEL)).flavors
    onnx = flavors.get("onnx")
    if isinstance(onnx, dict) and isinstance(onnx.get("data"), str):
        from accel.core.names import is_plain_name

        name = onnx["data"]
        if not is_plain_name(name) or not (folder / name).is_file():
            raise ModelLoadError(f"{uri}: MLmodel flavors.onnx.data = {name!r} is not a file here")
        return folder / name
    if any((folder / marker).exists() for marker in ("manifest.json", "report.json", "model.onnx")):
        return folder
    raise ModelLoadError(
        f"{uri} is an MLflow model with flavors {', '.join(sorted(flavors)) or 'none'}: accel "
        "serve opens the onnx flavor (mlflow.onnx.log_model) or a logged accel checkpoint or "
        "compress folder; other flavors are pickles that run code when loaded"
    )
