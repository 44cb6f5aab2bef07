"""Loading model files safely: every accepted format, and a malicious pickle that must not run."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from compress_models import MLP, TinyResNet

from accel.compress.loading import UnsafePickleError, load_model
from accel.core.errors import AccelError, ConfigError
from accel.core.registry import registry


@pytest.fixture
def arch() -> str:
    """TinyResNet registered as a model for the test, removed afterwards."""
    models = registry("models")
    models.add("test_tiny_resnet", TinyResNet, override=True)
    yield "test_tiny_resnet"
    models._local.pop("test_tiny_resnet", None)
    models._loaded.pop("test_tiny_resnet", None)


class Boom:
    """A pickle whose loading creates a file: what `torch.load` must never execute."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.target}",))


def same_outputs(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        return torch.allclose(a(x), b(x), atol=1e-5)


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps(Boom(marker)))
    with pytest.raises(UnsafePickleError, match=r"full pickle.*--unsafe-pickle"):
        load_model(path)
    assert not marker.exists()


def test_malicious_pickle_in_torch_zip_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    torch.save({"x": Boom(marker)}, path)
    with pytest.raises(UnsafePickleError, match="was not loaded"):
        load_model(path)
    assert not marker.exists()


def test_full_module_pickle_loads_only_with_unsafe_flag(tmp_path: Path) -> None:
    model = MLP().eval()
    path = tmp_path / "whole.pt"
    torch.save(model, path)
    with pytest.raises(UnsafePickleError):
        load_model(path)
    assert same_outputs(model, load_model(path, unsafe_pickle=True))


def test_state_dict_with_arch_from_registry(tmp_path: Path, arch: str) -> None:
    model = TinyResNet().eval()
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    assert same_outputs(model, load_model(path, arch=arch))


def test_state_dict_without_arch_says_to_pass_it(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(TinyResNet().state_dict(), path)
    with pytest.raises(ConfigError, match="without an architecture: pass --arch NAME"):
        load_model(path)


def test_state_dict_of_another_architecture_names_the_mismatch(tmp_path: Path, arch: str) -> None:
    path = tmp_path / "weights.pt"
    torch.save(MLP().state_dict(), path)
    with pytest.raises(ConfigError, match="do not fit the architecture"):
        load_model(path, arch=arch)


def test_accel_checkpoint_is_rebuilt_from_its_config(tmp_path: Path, arch: str) -> None:
    from accel.core.checkpoint import save_checkpoint

    model = TinyResNet().eval()
    path = save_checkpoint(
        tmp_path / "checkpoints",
        "last-epoch",
        {"model": model.state_dict()},
        config={"model": {"name": arch}},
    )
    assert same_outputs(model, load_model(path))


def test_directory_that_is_no_checkpoint_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AccelError, match="no checkpoint at"):
        load_model(tmp_path)


def test_torchscript_file(tmp_path: Path) -> None:
    model = MLP().eval()
    path = tmp_path / "model.pt"
    torch.jit.script(model).save(str(path))
    assert same_outputs(model, load_model(path))


def test_torch_export_program_even_named_pt(tmp_path: Path) -> None:
    model = MLP().eval()
    path = tmp_path / "model.pt"
    torch.export.save(torch.export.export(model, (torch.randn(2, 1, 8, 8),)), str(path))
    loaded = load_model(path)
    x = torch.randn(2, 1, 8, 8)
    assert torch.allclose(loaded(x), model(x), atol=1e-5)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model file .*nope.pt does not exist"):
        load_model(tmp_path / "nope.pt")


def test_garbage_file_is_not_a_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_text("not a model")
    with pytest.raises(ConfigError, match="is not a torch file"):
        load_model(path)


def test_a_tensor_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ConfigError, match="holds a Tensor, not a model"):
        load_model(path)
