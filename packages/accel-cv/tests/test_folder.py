import numpy as np
import pytest
import torch
from PIL import Image

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.cv.data.folder import image_folder


def write_images(root, classes=("cat", "dog"), per_class=5, size=(12, 10)) -> None:
    rng = np.random.default_rng(0)
    for index, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.full((*size, 3), 60 + 120 * index, dtype=np.uint8)
            pixels[0, 0] = rng.integers(0, 255, 3)
            Image.fromarray(pixels).save(root / name / f"{i}.png")


def test_folder_tree_is_split_resized_and_labelled(tmp_path) -> None:
    write_images(tmp_path)
    dm = build(
        "datasets",
        {
            "name": "image_folder",
            "root": str(tmp_path),
            "image_size": 8,
            "val_fraction": 0.2,
            "test_fraction": 0.2,
        },
    )
    assert dm.num_classes == 2
    assert dm.class_names == ["cat", "dog"]
    assert dm.input_shape == (3, 8, 8)
    assert sum(len(s) for s in dm.splits.values()) == 10
    images, labels = next(iter(dm.test_dataloader()))
    assert images.shape[1:] == (3, 8, 8)
    for image, label in zip(images, labels, strict=True):  # dogs are brighter
        assert abs(float(image[:, 4, 4].mean()) - (60 + 120 * int(label)) / 255) < 0.02
    stats = dm.statistics()
    assert stats["splits"]["train"]["image_sizes"] == {"12x10": 6}


def test_pre_split_folders_and_gray(tmp_path) -> None:
    write_images(tmp_path / "train")
    write_images(tmp_path / "test", per_class=2)
    dm = image_folder(str(tmp_path), image_size=4, channels=1)
    assert len(dm.splits["train"]) == 10
    assert len(dm.splits["test"]) == 4
    assert dm.splits["val"] is None
    x, _ = dm.splits["test"][0]
    assert x.shape == (1, 4, 4)
    assert x.dtype == torch.float32


def test_bad_folders_are_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        image_folder(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="has no class folders"):
        image_folder(str(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no images"):
        image_folder(str(tmp_path))
    with pytest.raises(ConfigError, match="channels must be 1 or 3, got 2"):
        image_folder(str(tmp_path), channels=2)
