"""Every entry point in accel-cv's pyproject loads, and builds a protocol-checked object:
those that read files build from tiny real files, torchvision's either builds or names the
extra to install."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from accel.core.errors import MissingPackageError
from accel.core.registry import build, registry

ENTRY_POINTS = [
    (ep.group.removeprefix("accel."), ep.name)
    for ep in distribution("accel-cv").entry_points
    if ep.group.startswith("accel.")
]
HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None
RESERVED = ("name", "_target_")  # the registry's own keys in a `{name: ..., **kwargs}` spec


def image_folder_root(root: Path) -> dict[str, Any]:
    """Two classes of four 6×6 PNGs each: `root/<class>/<i>.png`."""
    for index, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for i in range(4):
            pixels = np.full((6, 6, 3), 40 + 150 * index + i, dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return {"root": str(root), "image_size": 4, "val_fraction": 0.25, "test_fraction": 0.25}


def cifar_root(root: Path) -> dict[str, Any]:
    """CIFAR-10's binary layout with 20 training and 10 test records (label byte + pixels)."""
    rng = np.random.default_rng(0)
    for name, count in (("data_batch_1.bin", 20), ("test_batch.bin", 10)):
        labels = (np.arange(count) % 10).astype(np.uint8)[:, None]
        pixels = rng.integers(0, 256, (count, 3 * 32 * 32), dtype=np.uint8)
        np.concatenate([labels, pixels], axis=1).tofile(root / name)
    return {"root": str(root), "val_fraction": 0.5, "batch_size": 4}


ARGUMENTS: dict[tuple[str, str], dict[str, Any] | Callable[[Path], dict[str, Any]]] = {
    ("losses", "perceptual"): {"network": "resnet20", "layers": ["layers.0"]},
    ("losses", "multiscale"): {"loss": "ssim"},
    ("losses", "color_space"): {"loss": "delta_e"},
    ("transforms", "random_resized_crop"): {"size": 4},
    ("transforms", "image_normalize"): {"mean": [0.5], "std": [0.5]},
    ("transforms", "image_compose"): {"transforms": []},
    ("transforms", "classification_preset"): {"size": 4},
    ("datasets", "image_folder"): image_folder_root,
    ("datasets", "cifar"): cifar_root,
}


def test_every_kind_is_registered() -> None:
    kinds = {kind for kind, _ in ENTRY_POINTS}
    assert kinds == {"losses", "transforms", "datasets", "models"}
    assert len(ENTRY_POINTS) >= 40


@pytest.mark.parametrize(
    ("kind", "name"), [ep for ep in ENTRY_POINTS if ep != ("models", "torchvision")]
)
def test_entry_point_loads_and_builds(kind: str, name: str, tmp_path: Path) -> None:
    assert name in registry(kind).names()
    assert callable(registry(kind).get(name))
    arguments = ARGUMENTS.get((kind, name), {})
    kwargs = arguments(tmp_path) if callable(arguments) else arguments
    obj = build(kind, {"name": name, **kwargs})
    if kind == "models":
        assert isinstance(obj, torch.nn.Module)
    if kind == "datasets":
        images, targets = next(iter(obj.train_dataloader()))
        assert tuple(images.shape[1:]) == obj.input_shape
        assert len(targets) == len(images)
        assert set(targets.tolist()) <= set(range(obj.num_classes))


def test_torchvision_entry_point_builds_or_names_the_extra() -> None:
    """torchvision is an optional extra: without it, building says what to install."""
    assert callable(registry("models").get("torchvision"))
    if not HAS_TORCHVISION:
        with pytest.raises(MissingPackageError, match=r"pip install accel-cv\[torchvision\]"):
            build("models", {"name": "torchvision", "arch": "resnet18", "num_classes": 3})
        return
    model = build("models", {"name": "torchvision", "arch": "resnet18", "num_classes": 3})
    assert model.eval()(torch.rand(1, 3, 32, 32)).shape == (1, 3)


def test_no_factory_takes_an_argument_the_registry_reserves() -> None:
    taken = [
        f"{kind}.{name}({parameter})"
        for kind, name in ENTRY_POINTS
        for parameter in inspect.signature(registry(kind).get(name)).parameters
        if parameter in RESERVED
    ]
    assert taken == []
