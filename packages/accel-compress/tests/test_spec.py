"""Pruned models saved as weights + channel spec, re-applied to the original architecture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from compress_models import TinyResNet

from accel.compress import prune
from accel.compress.loading import load_model
from accel.compress.spec import SPEC_FILE, load_pruned, save_pruned
from accel.core.errors import ConfigError
from accel.core.registry import registry


def test_pruned_model_round_trips_without_pickle(resnet, digits, tmp_path: Path) -> None:
    pruned = prune(resnet, digits.example, 0.5)
    folder = save_pruned(pruned, tmp_path / "pruned")
    spec = json.loads((folder / SPEC_FILE).read_text())
    assert spec["layers"]["layer1.conv1"]["out_channels"] == pruned.layer1.conv1.out_channels
    loaded = load_pruned(folder, model=TinyResNet())
    x = digits.x_test[:16]
    assert loaded.layer1.conv1.weight.shape == pruned.layer1.conv1.weight.shape
    assert torch.allclose(loaded(x), pruned(x), atol=1e-5)


def test_load_model_reads_a_pruned_folder_with_arch(resnet, digits, tmp_path: Path) -> None:
    registry("models").add("test_spec_resnet", TinyResNet, override=True)
    try:
        pruned = prune(resnet, digits.example, 0.25)
        save_pruned(pruned, tmp_path / "p", arch="test_spec_resnet")
        loaded = load_model(tmp_path / "p")  # the spec names its architecture
        assert torch.allclose(loaded(digits.example), pruned(digits.example), atol=1e-5)
    finally:
        registry("models")._local.pop("test_spec_resnet", None)
        registry("models")._loaded.pop("test_spec_resnet", None)


def test_folder_without_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no channels.json"):
        load_pruned(tmp_path, model=TinyResNet())


def test_spec_without_arch_needs_one(resnet, digits, tmp_path: Path) -> None:
    save_pruned(prune(resnet, digits.example, 0.25), tmp_path / "p")
    with pytest.raises(ConfigError, match="names no architecture: pass --arch"):
        load_pruned(tmp_path / "p")
