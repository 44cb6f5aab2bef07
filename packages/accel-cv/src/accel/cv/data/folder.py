"""Images in class folders (`root/<class>/<image>`), optionally pre-split (`root/train/...`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from accel.core.errors import ConfigError
from accel.cv.data.module import ImageDataModule, TransformSpec
from accel.cv.data.tensors import check_fractions, stratified_split

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
MODES = {1: "L", 3: "RGB"}


def list_images(
    root: Path, classes: list[str] | None = None
) -> tuple[list[Path], list[int], list[str]]:
    """Files and class indices under `root/<class>/`, classes sorted by name."""
    if not root.is_dir():
        raise ConfigError(f"image_folder: {root} is not a directory")
    names = classes or sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    if not names:
        raise ConfigError(
            f"image_folder: {root} has no class folders (expected root/<class>/<image>)"
        )
    files, labels = [], []
    for index, name in enumerate(names):
        folder = root / name
        found = (
            sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS)
            if folder.is_dir()
            else []
        )
        files += found
        labels += [index] * len(found)
    if not files:
        raise ConfigError(f"image_folder: no images ({', '.join(EXTENSIONS)}) under {root}")
    return files, labels, names


class ImageFiles(Dataset[tuple[torch.Tensor, int]]):
    """Decode images on access to (C, image_size, image_size) float in [0, 1]."""

    def __init__(
        self, files: list[Path], labels: list[int], image_size: int, channels: int
    ) -> None:
        self.files, self.labels = files, labels
        self.image_size, self.channels = image_size, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        with Image.open(self.files[index]) as opened:
            image = opened.convert(MODES[self.channels])
        size = (self.image_size, self.image_size)
        image = image.resize(size, Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.float32) / 255.0
        tensor = torch.from_numpy(array.copy())
        tensor = tensor.unsqueeze(0) if tensor.dim() == 2 else tensor.permute(2, 0, 1)
        return tensor, self.labels[index]

    def image_sizes(self) -> list[tuple[int, int]]:
        """The original (height, width) of every file (reads headers only)."""
        from PIL import Image

        sizes = []
        for path in self.files:
            with Image.open(path) as image:
                sizes.append((image.height, image.width))
        return sizes


def image_folder(
    root: str,
    image_size: int = 64,
    channels: int = 3,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    batch_size: int = 32,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
    seed: int = 0,
    transform: TransformSpec = None,
    eval_transform: TransformSpec = None,
) -> ImageDataModule:
    """Class-per-folder images resized to (channels, image_size, image_size) in [0, 1].

    If `root/train` exists, `root/train`, `root/val` and `root/test` are the splits (the
    fractions are ignored); otherwise one folder tree is split, stratified and seeded.
    """
    if channels not in MODES:
        raise ConfigError(f"image_folder: channels must be 1 or 3, got {channels}")
    base = Path(root).expanduser()
    make = lambda files, labels: ImageFiles(files, labels, image_size, channels)  # noqa: E731
    splits: dict[str, Dataset[tuple[torch.Tensor, int]] | None]
    if (base / "train").is_dir():
        files, labels, names = list_images(base / "train")
        splits = {"train": make(files, labels)}
        for split in ("val", "test"):
            found = base / split
            splits[split] = make(*list_images(found, names)[:2]) if found.is_dir() else None
    else:
        check_fractions(val_fraction, test_fraction)
        files, labels, names = list_images(base)
        everything = make(files, labels)
        parts = stratified_split(labels, (val_fraction, test_fraction), seed)
        splits = {
            split: Subset(everything, part.tolist()) if len(part) else None
            for split, part in zip(("train", "val", "test"), parts, strict=True)
        }
    return ImageDataModule(
        splits,
        num_classes=len(names),
        input_shape=(channels, image_size, image_size),
        class_names=names,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        num_workers=num_workers,
        seed=seed,
        transform=transform,
        eval_transform=eval_transform,
    )
