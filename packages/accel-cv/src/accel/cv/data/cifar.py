"""CIFAR-10/100 from local files as a data module (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from accel.core.errors import ConfigError
from accel.cv.data.cifar_files import read_cifar
from accel.cv.data.module import ImageDataModule, TransformSpec
from accel.cv.data.tensors import stratified_split, tensor_dataset


def cifar(
    root: str,
    val_fraction: float = 0.1,
    batch_size: int = 128,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
    seed: int = 0,
    transform: TransformSpec = None,
    eval_transform: TransformSpec = None,
) -> ImageDataModule:
    """CIFAR files under `root` (binary or Python version); images (3, 32, 32) in [0, 1].

    Validation is a stratified, seeded `val_fraction` of the training files; test is the
    test file. `num_classes` comes from the labels (10 or 100).
    """
    if not 0 <= val_fraction < 1:
        raise ConfigError(f"cifar: val_fraction must be in [0, 1), got {val_fraction}")
    data = read_cifar(Path(root).expanduser())
    train_images, train_labels = data["train"]
    test_images, test_labels = data["test"]
    names = data["names"]
    num_classes = len(names) if names else (100 if data["layout"].startswith("cifar100") else 10)
    to_float = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0)  # noqa: E731
    images, labels = to_float(train_images), torch.from_numpy(train_labels)
    train, val = stratified_split(train_labels, (val_fraction,), seed)
    everything = np.arange(len(test_labels))
    return ImageDataModule(
        {
            "train": tensor_dataset(images, labels, train),
            "val": tensor_dataset(images, labels, val),
            "test": tensor_dataset(
                to_float(test_images), torch.from_numpy(test_labels), everything
            ),
        },
        num_classes=num_classes,
        input_shape=(3, 32, 32),
        class_names=names,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        num_workers=num_workers,
        seed=seed,
        transform=transform,
        eval_transform=eval_transform,
    )
