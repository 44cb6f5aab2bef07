"""Checkpoints: exact round trip without pickle, atomic pointer, resolution, rebuild, errors."""

from __future__ import annotations

import json
import math
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from core_tiny import TinyNet

from accel.core.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model_state,
    load_state,
    model_state_dict,
    rebuild_model,
    save_checkpoint,
)
from accel.core.checkpoint.codec import TensorStore, decode, encode
from accel.core.checkpoint.store import list_checkpoints, resolve_checkpoint
from accel.core.seeding import capture_rng, restore_rng


def adam_state() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = TinyNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.9))
    model(torch.randn(4, 8)).sum().backward()
    optimizer.step()
    return model, optimizer


def test_codec_round_trips_optimizer_state_tuples_int_keys_and_specials() -> None:
    _, optimizer = adam_state()
    value = {
        "opt": optimizer.state_dict(),
        "t": (1, "a", None),
        "inf": -math.inf,
        "arr": np.arange(5, dtype=np.uint32),
        "n": np.float32(2.5),
    }
    store = TensorStore()
    encoded = encode(value, "", store)
    text = json.dumps(encoded, allow_nan=False)  # valid JSON, no NaN/Infinity literals
    back = decode(json.loads(text), store.tensors)
    assert back["opt"]["param_groups"][0]["betas"] == (0.8, 0.9)
    assert set(back["opt"]["state"]) == set(optimizer.state_dict()["state"])  # int keys
    for key, state in optimizer.state_dict()["state"].items():
        for name, tensor in state.items():
            assert torch.equal(back["opt"]["state"][key][name], tensor)
    assert back["t"] == (1, "a", None)
    assert back["inf"] == -math.inf
    assert back["arr"].dtype == np.uint32
    assert back["arr"].tolist() == [0, 1, 2, 3, 4]
    assert back["n"] == 2.5


def test_codec_rejects_objects_it_cannot_store_by_key() -> None:
    with pytest.raises(CheckpointError, match=r"cannot store sched\.fn of type function"):
        encode({"sched": {"fn": lambda: 0}}, "", TensorStore())


def test_tied_weights_are_stored_as_separate_tensors() -> None:
    model = torch.nn.Sequential(torch.nn.Embedding(4, 3), torch.nn.Linear(3, 4, bias=False))
    model[1].weight = model[0].weight
    store = TensorStore()
    encode(model.state_dict(), "model", store)
    assert torch.equal(store.tensors["model.0.weight"], store.tensors["model.1.weight"])


def test_rng_states_round_trip_through_a_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(3)
    random.seed(3)
    np.random.seed(3)
    save_checkpoint(tmp_path, "c", {"rng": capture_rng()})
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.manual_seed(99)
    random.seed(99)
    np.random.seed(99)
    manifest, tensors = load_checkpoint(tmp_path)
    restore_rng(load_state(manifest, tensors)["rng"])
    got = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(got[0], expected[0])
    assert got[1:] == expected[1:]


def test_save_writes_safetensors_and_manifest_and_moves_the_last_pointer(tmp_path: Path) -> None:
    model, optimizer = adam_state()
    first = save_checkpoint(tmp_path, "one", {"model": model.state_dict()})
    second = save_checkpoint(
        tmp_path,
        "two",
        {"model": model.state_dict(), "optimizer": optimizer.state_dict()},
        config={"model": {"name": "tiny_net"}},
        model_class="core_tiny.TinyNet",
    )
    assert {p.name for p in first.iterdir()} == {"tensors.safetensors", "manifest.json"}
    assert json.loads((tmp_path / "last").read_text()) == {"checkpoint": "two"}
    assert resolve_checkpoint(tmp_path) == second
    manifest, tensors = load_checkpoint(tmp_path / "last")
    assert manifest["model"] == {"class": "core_tiny.TinyNet", "spec": {"name": "tiny_net"}}
    assert {"torch", "accel-core", "python"} <= set(manifest["versions"])
    weights = model_state_dict(manifest, tensors)
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert [p.name for p in list_checkpoints(tmp_path)] == ["one", "two"]


def test_leftover_temporaries_are_removed_on_the_next_save(tmp_path: Path) -> None:
    (tmp_path / ".tmp-half-written").mkdir(parents=True)
    save_checkpoint(tmp_path, "ok", {"x": torch.zeros(1)})
    assert {p.name for p in tmp_path.iterdir()} == {"ok", "last"}


def test_rebuild_model_builds_from_the_stored_spec(tmp_path: Path, tiny: None) -> None:
    model = TinyNet(hidden=5)
    save_checkpoint(
        tmp_path,
        "c",
        {"model": model.state_dict()},
        config={"model": {"name": "tiny_net", "hidden": 5}},
    )
    rebuilt = rebuild_model(tmp_path)
    assert isinstance(rebuilt, TinyNet)
    assert all(torch.equal(rebuilt.state_dict()[k], v) for k, v in model.state_dict().items())


def test_rebuild_model_without_a_config_says_what_to_do(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, "c", {"model": TinyNet().state_dict()})
    with pytest.raises(CheckpointError, match=r"stores no model config .*load model_state_dict"):
        rebuild_model(tmp_path)


def test_missing_checkpoint_lists_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(
        CheckpointError,
        match=r"no checkpoint at .*: expected a checkpoint directory \(with "
        r"manifest\.json\), a 'last' pointer",
    ):
        load_checkpoint(tmp_path)


def test_pointer_to_a_missing_checkpoint_is_named(tmp_path: Path) -> None:
    (tmp_path / "last").write_text(json.dumps({"checkpoint": "gone"}))
    with pytest.raises(CheckpointError, match=r"pointer .*last names 'gone', which is missing"):
        load_checkpoint(tmp_path)


def test_corrupt_tensor_file_is_one_line(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path, "c", {"x": torch.zeros(3)})
    (path / "tensors.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match=r"checkpoint .*c is unreadable: ") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_a_foreign_manifest_is_rejected(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path, "c", {"x": torch.zeros(3)})
    (path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match=r"is not an accel checkpoint manifest"):
        load_checkpoint(path)


def test_a_pointer_cannot_lead_outside_its_folder(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "elsewhere", "c", {"x": torch.zeros(1)})
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last").write_text(json.dumps({"checkpoint": "../elsewhere/c"}))
    with pytest.raises(CheckpointError, match=r"names '../elsewhere/c': expected the name of a"):
        load_checkpoint(tmp_path / "run")


def test_nan_weights_are_refused_when_loaded_into_a_model(tmp_path: Path) -> None:
    model = TinyNet()
    broken = {k: torch.full_like(v, float("nan")) for k, v in model.state_dict().items()}
    path = save_checkpoint(tmp_path, "c", {"model": broken})
    manifest, tensors = load_checkpoint(path)
    with pytest.raises(CheckpointError, match=r"holds NaN weights \(net.0.weight, .*earlier"):
        load_model_state(TinyNet(), model_state_dict(manifest, tensors), str(path))


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (None, "holds no model weights"),
        (
            {"model": {"w": {"__tensor__": "missing"}}},
            "refers to tensor 'missing', which is missing",
        ),
        ({"model": {"w": {"__tensor__": ["a"]}}}, "malformed state.model"),
        ({"model": [1, 2]}, "state.model is not a mapping of tensors"),
    ],
)
def test_a_malformed_manifest_state_is_one_line(
    tmp_path: Path, state: object, message: str
) -> None:
    path = save_checkpoint(tmp_path, "c", {"x": torch.zeros(1)})
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["state"] = state
    (path / "manifest.json").write_text(json.dumps(manifest))
    loaded, tensors = load_checkpoint(path)
    with pytest.raises(CheckpointError, match=message):
        model_state_dict(loaded, tensors)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 512 KiB filesystem (tmpfs), to fill up; skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)  # mmapped tensors


def test_a_full_disk_is_one_line_and_keeps_the_last_good_checkpoint(small_disk: Path) -> None:
    directory = small_disk / "run" / "checkpoints"
    save_checkpoint(directory, "good", {"x": torch.ones(10)})
    with pytest.raises(
        CheckpointError,
        match=r"no space left on the device of .*checkpoints to write checkpoint big \(needs "
        r"about 3.8 MB, 0.\d MB free\); the last good checkpoint is kept: .*good",
    ) as info:
        save_checkpoint(directory, "big", {"x": torch.ones(1_000_000)})
    assert "\n" not in str(info.value)
    manifest, tensors = load_checkpoint(directory)
    assert manifest["name"] == "good"
    assert torch.equal(tensors["x"], torch.ones(10))
    assert sorted(p.name for p in directory.iterdir()) == ["good", "last"]
