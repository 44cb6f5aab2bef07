"""Every entry point in accel-cv's pyproject loads, and builds a protocol-checked object."""

from importlib.metadata import distribution

import pytest
import torch

from accel.core.registry import build, registry

ENTRY_POINTS = [
    (ep.group.removeprefix("accel."), ep.name)
    for ep in distribution("accel-cv").entry_points
    if ep.group.startswith("accel.")
]
NEEDS_ARGUMENTS = {
    ("losses", "perceptual"): {"network": "resnet20", "layers": ["layers.0"]},
    ("losses", "multiscale"): {"loss": "ssim"},
    ("losses", "color_space"): {"loss": "delta_e"},
    ("transforms", "random_resized_crop"): {"size": 4},
    ("transforms", "image_normalize"): {"mean": [0.5], "std": [0.5]},
    ("transforms", "image_compose"): {"transforms": []},
    ("transforms", "classification_preset"): {"size": 4},
    ("datasets", "image_folder"): None,
    ("datasets", "cifar"): None,
    ("models", "torchvision"): None,
}


def test_every_kind_is_registered() -> None:
    kinds = {kind for kind, _ in ENTRY_POINTS}
    assert kinds == {"losses", "transforms", "datasets", "models"}
    assert len(ENTRY_POINTS) >= 40


@pytest.mark.parametrize(("kind", "name"), ENTRY_POINTS)
def test_entry_point_loads_and_builds(kind, name) -> None:
    assert name in registry(kind).names()
    factory = registry(kind).get(name)
    assert callable(factory)
    kwargs = NEEDS_ARGUMENTS.get((kind, name), {})
    if kwargs is None:  # needs files or an optional package: covered by its own tests
        return
    obj = build(kind, {"name": name, **kwargs})
    if kind == "models":
        assert isinstance(obj, torch.nn.Module)
