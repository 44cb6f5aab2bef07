"""Loading model files safely: every accepted format, and a malicious pickle that must not run."""

from __future__ import annotations

import contextlib
import os
import pickle
from pathlib import Path

import crafted
import pytest
import torch
from compress_models import MLP, TinyResNet

from accel.compress.loading import UnsafePickleError, load_model
from accel.core.errors import AccelError, ConfigError
from accel.core.export_archive import ArchiveError
from accel.core.registry import registry
from accel.core.trust import UntrustedFileError, trusting_files


@pytest.fixture
def arch() -> str:
    """TinyResNet registered as a model for the test, removed afterwards."""
    models = registry("models")
    models.add("test_tiny_resnet", TinyResNet, override=True)
    yield "test_tiny_resnet"
    models.remove("test_tiny_resnet")


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


def test_full_module_pickle_loads_only_when_trusted(tmp_path: Path) -> None:
    model = MLP().eval()
    path = tmp_path / "whole.pt"
    torch.save(model, path)
    with pytest.raises(UnsafePickleError):
        load_model(path)
    assert same_outputs(model, load_model(path, trust=True))


def test_state_dict_with_arch_from_registry(tmp_path: Path, arch: str) -> None:
    model = TinyResNet().eval()
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    assert same_outputs(model, load_model(path, arch=arch))


def test_safetensors_state_dict_with_wrapper_prefix(tmp_path: Path, arch: str) -> None:
    from safetensors.torch import save_file

    model = TinyResNet().eval()
    path = tmp_path / "weights.safetensors"
    save_file({f"module.{k}": v for k, v in model.state_dict().items()}, str(path))
    assert same_outputs(model, load_model(path, arch=arch))


def test_a_file_that_is_no_safetensors_is_one_line(tmp_path: Path, arch: str) -> None:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    with pytest.raises(ConfigError, match=r"weights.safetensors is not a readable safetensors"):
        load_model(path, arch=arch)


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


def test_torchscript_file_loads_only_when_trusted(tmp_path: Path) -> None:
    model = MLP().eval()
    path = tmp_path / "model.pt"
    torch.jit.script(model).save(str(path))
    with pytest.raises(UntrustedFileError, match=r"is TorchScript: loading it runs the program"):
        load_model(path)
    assert same_outputs(model, load_model(path, trust=True))


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
    with pytest.raises(ConfigError, match="is not a model file accel reads"):
        load_model(path)


def test_a_tensor_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ConfigError, match="holds a Tensor, not a model"):
        load_model(path)


# Crafted files: each would run `touch marker` opened the naive way (proved first), and
# load_model refuses it in one line without running anything.

PT2_PAYLOADS = {
    "pickled sample inputs": crafted.pt2_with_pickled_samples,
    "use_pickle weight": crafted.pt2_with_pickled_weight,
}


@pytest.mark.parametrize("craft", PT2_PAYLOADS.values(), ids=PT2_PAYLOADS)
def test_raw_torch_export_load_runs_a_crafted_pt2(craft, tiny, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = craft(tiny.program, tmp_path / "evil.pt2", marker)
    with contextlib.suppress(Exception):  # the payload runs while loading; the rest may fail
        torch.export.load(str(path))
    assert marker.exists()


@pytest.mark.parametrize("name", ["evil.pt2", "evil.pt"])
@pytest.mark.parametrize("craft", PT2_PAYLOADS.values(), ids=PT2_PAYLOADS)
def test_crafted_pt2_is_refused_even_named_pt(craft, name: str, tiny, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = craft(tiny.program, tmp_path / name, marker)
    with pytest.raises(ArchiveError, match=r"torch would unpickle with code.*--trust-file"):
        load_model(path)
    assert not marker.exists()


def test_the_trust_flag_opens_a_pt2_unchecked(tiny, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = crafted.pt2_with_pickled_samples(tiny.program, tmp_path / "evil.pt2", marker)
    with trusting_files(), pytest.raises(AccelError, match=r"torch\.export\.load failed"):
        load_model(path)
    assert marker.exists()  # the user said they trust it: torch ran it


def test_runner_opens_an_exported_file_through_the_checked_loader(tiny, tmp_path: Path) -> None:
    from accel.compress.artifacts import ExportedModel, Runner

    marker = tmp_path / "pwned"
    path = crafted.pt2_with_pickled_weight(tiny.program, tmp_path / "evil.pt2", marker)
    with pytest.raises(ArchiveError, match="so it was not loaded"):
        Runner(ExportedModel(path))
    assert not marker.exists()


def test_crafted_torchscript_is_one_line_and_runs_nothing(tiny, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = crafted.torchscript_with_payload(tiny.script, tmp_path / "evil.pt", marker)
    with pytest.raises(RuntimeError, match=r"posix\.system"):  # torch's own unpickler refuses it
        torch.jit.load(str(path))
    with pytest.raises(UntrustedFileError, match=r"is TorchScript"):
        load_model(path)
    with pytest.raises(ConfigError, match=r"is not loadable TorchScript: [^\n]*posix.system"):
        load_model(path, trust=True)  # even trusted: torch's unpickler refuses the payload
    assert not marker.exists()


def test_raw_build_of_a_stored_target_runs_it(tmp_path: Path) -> None:
    from accel.core.registry import build

    marker = tmp_path / "pwned"
    with pytest.raises(AccelError):  # os.system returns an int, not a model: too late
        build("models", crafted.touch_spec(marker))
    assert marker.exists()


def test_checkpoint_whose_model_names_code_is_refused(tiny, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = crafted.checkpoint_with_target(tmp_path / "ckpt", marker, "model", tiny.arch)
    with pytest.raises(UntrustedFileError, match=r"model\.spec\._target_ = 'os\.system'"):
        load_model(path)
    assert not marker.exists()


def test_checkpoint_whose_data_names_code_is_refused(tiny, tmp_path: Path) -> None:
    from accel.compress.loading import checkpoint_data

    marker = tmp_path / "pwned"
    path = crafted.checkpoint_with_target(tmp_path / "ckpt", marker, "data", tiny.arch)
    assert isinstance(load_model(path), torch.nn.Module)
    with pytest.raises(UntrustedFileError, match=r"config\.data\._target_ = 'os\.system'"):
        checkpoint_data(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("model.pt", b"", "is not a model file accel reads"),
        ("model.pt", crafted.torch_bytes([1, 2]), "holds a list, not a model"),
        ("model.pt2", b"not a zip", "not a readable .pt2 archive"),
        ("model.onnx", b"hello", "is not an ONNX model"),
        ("model.json", b"{not json", "is not readable JSON"),
    ],
)
def test_a_file_that_is_no_model_is_one_line(name, content, message, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AccelError, match=message) as caught:
        load_model(path)
    assert "\n" not in str(caught.value)


def test_onnx_external_data_outside_its_folder_is_refused(tmp_path: Path) -> None:
    """A crafted ONNX naming `../secret` as external data would be copied into the output."""
    import onnx
    from onnx import TensorProto, helper

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"\x00" * 16)
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], [0.0] * 4)
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../secret.txt"), ("offset", "0"), ("length", "16")):
        weight.external_data.add(key=key, value=value)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [weight],
    )
    (tmp_path / "model").mkdir()
    path = tmp_path / "model" / "model.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(UntrustedFileError, match=r"external data '../secret.txt' outside its"):
        load_model(path)
