import pytest
import torch

from accel.core.errors import ConfigError
from accel.mlflow.models import prepare_file, prepare_torch


def test_a_checkpoint_file_is_copied_into_its_model_directory(tmp_path):
    checkpoint = tmp_path / "best.safetensors"
    checkpoint.write_bytes(b"weights")
    target = prepare_file(checkpoint, tmp_path / "models" / "model")
    assert (target / "best.safetensors").read_bytes() == b"weights"


def test_onnx_external_weights_travel_with_the_model(tmp_path, monkeypatch):
    monkeypatch.setattr("accel.mlflow.models._has_onnx", lambda: False)  # plain-file path
    (tmp_path / "m.onnx").write_bytes(b"graph")
    (tmp_path / "m.onnx.data").write_bytes(b"weights")
    target = prepare_file(tmp_path / "m.onnx", tmp_path / "out")
    assert sorted(p.name for p in target.iterdir()) == ["m.onnx", "m.onnx.data"]


def test_a_missing_model_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"log_model: .*nope\.onnx does not exist"):
        prepare_file(tmp_path / "nope.onnx", tmp_path / "out")


def test_a_torch_model_needs_an_input_example(tmp_path):
    with pytest.raises(ConfigError, match="input_example is required"):
        prepare_torch(torch.nn.Linear(2, 2), None, tmp_path / "out")


def test_a_torch_model_is_saved_without_pickle(tmp_path):
    target = prepare_torch(torch.nn.Linear(2, 2), torch.randn(2, 2), tmp_path / "out")
    assert sorted(p.name for p in (target / "data").iterdir()) == ["model.pt2"]  # no .pth pickle
