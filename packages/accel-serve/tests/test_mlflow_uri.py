"""MLflow model URIs: a real local tracking store (sqlite in tmp_path), models logged with mlflow
itself, then served (`models:/name@alias` through a real server) or opened (`runs:/...`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from serve_helpers import Small, TinyDigits, export, start_server

from accel.core.checkpoint import save_checkpoint
from accel.core.errors import ConfigError, MissingPackageError
from accel.core.registry import registry
from accel.serve.errors import ModelLoadError
from accel.serve.loading import check_source, open_model
from accel.serve.mlflow_uri import uri_name

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A sqlite tracking + registry store with artifacts in tmp: `digits` version 1 (an ONNX
    flavor, alias `prod`), and a run holding an accel checkpoint and an MLmodel of a pickled
    flavor. Yields the URIs, with MLFLOW_TRACKING_URI set for this module."""
    mlflow = pytest.importorskip("mlflow", reason="accel-serve[mlflow] is not installed")
    onnx = pytest.importorskip("onnx")
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", uri)
    torch.manual_seed(0)
    onnx_file = export(TinyDigits(), (torch.rand(2, 1, 8, 8),), root / "digits.onnx", ["x"])
    small = Small()
    save_checkpoint(root / "ckpt", "last-epoch", {"model": small.state_dict()},
                    config={"model": {"name": "serve_mlflow_small"}})  # fmt: skip
    pickled = root / "pickled"
    pickled.mkdir()
    (pickled / "MLmodel").write_text("flavors:\n  pytorch:\n    model_data: data\n")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment("serve", artifact_location=(root / "art").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.onnx.log_model(onnx.load(str(onnx_file)), name="model",
                              registered_model_name="digits")  # fmt: skip
        mlflow.log_artifacts(str(root / "ckpt" / "last-epoch"), "checkpoint")
        mlflow.log_artifacts(str(pickled), "pickled")
    client.set_registered_model_alias("digits", "prod", "1")
    run_id = run.info.run_id
    yield {
        "registered": "models:/digits@prod",
        "checkpoint": f"runs:/{run_id}/checkpoint",
        "pickled": f"runs:/{run_id}/pickled",
        "onnx": str(onnx_file),
        "tracking": uri,
    }
    patch.undo()


def test_a_registered_onnx_model_is_served_by_its_alias(
    store: dict[str, str], tmp_path: Path
) -> None:
    server = start_server([store["registered"]], tmp_path / "server.log", ready_s=120)
    try:
        x = np.random.default_rng(0).random((2, 1, 8, 8), dtype=np.float32)
        body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 1, 8, 8],
                            "data": x.ravel().tolist()}]}  # fmt: skip
        with server.client() as client:
            metadata = client.get("/v2/models/digits").json()
            answer = client.post("/v2/models/digits/infer", json=body).json()
    finally:
        assert server.stop() == 0
    import onnxruntime as ort

    expected = ort.InferenceSession(store["onnx"]).run(None, {"x": x})[0]
    assert metadata["name"] == "digits"
    assert metadata["platform"] == "onnxruntime_onnx"
    out = np.asarray(answer["outputs"][0]["data"], np.float32).reshape(
        answer["outputs"][0]["shape"]
    )
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_a_run_artifact_that_is_an_accel_checkpoint_is_rebuilt(store: dict[str, str]) -> None:
    with registry("models").registered("serve_mlflow_small", Small):
        loaded = open_model(store["checkpoint"], threads=1, input_shape=(4,))
    assert loaded.path == store["checkpoint"]
    assert loaded.kind == "checkpoint"
    out = loaded.runner.run({"input": np.ones((2, 4), np.float32)})["output"]
    assert out.shape == (2, 3)


def test_a_pickled_flavor_is_refused_naming_what_is_served(store: dict[str, str]) -> None:
    with pytest.raises(ModelLoadError, match=r"flavors pytorch: accel serve opens the onnx flav"):
        open_model(store["pickled"], threads=1)


def test_an_unknown_alias_is_one_line_from_mlflow(store: dict[str, str]) -> None:
    with pytest.raises(ModelLoadError, match=r"^models:/digits@nope: MLflow could not fetch it"):
        open_model("models:/digits@nope", threads=1)


def test_uris_name_their_model_and_bad_forms_are_refused() -> None:
    assert uri_name("models:/digits@prod") == "digits"
    assert uri_name("models:/digits/3") == "digits"
    assert uri_name("runs:/0a1b/outputs/tiny") == "tiny"
    with pytest.raises(ConfigError, match="expected models:/NAME@ALIAS"):
        uri_name("runs:/0a1b")
    with pytest.raises(ConfigError, match=r"write NAME=models:/my model@prod"):
        uri_name("models:/my model@prod")


def test_without_mlflow_one_line_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an install without it imports
    with pytest.raises(MissingPackageError) as missing:
        check_source("models:/digits@prod")
    assert str(missing.value) == (
        "serving models:/digits@prod needs 'accel-serve[mlflow]': pip install 'accel-serve[mlflow]'"
    )
