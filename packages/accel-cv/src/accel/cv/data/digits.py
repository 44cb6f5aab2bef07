"""scikit-learn's 8×8 handwritten digits (1,797 images, 10 classes): no download needed."""

from __future__ import annotations

from typing import Any

import torch

from accel.cv.data.module import ImageDataModule, TransformSpec
from accel.cv.data.tensors import check_fractions, resize_images, stratified_split, tensor_dataset


def load_digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """All digits as images (1797, 1, 8, 8) in [0, 1] and labels (1797,)."""
    from sklearn.datasets import load_digits

    bunch: Any = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    return images, torch.as_tensor(bunch.target, dtype=torch.long)


def digits(
    image_size: int | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    batch_size: int = 64,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
    seed: int = 0,
    transform: TransformSpec = None,
    eval_transform: TransformSpec = None,
) -> ImageDataModule:
    """Digits split (stratified, seeded) into train/val/test; images (1, 8, 8) in [0, 1].

    `image_size` upsamples the images (bilinear) for models that want more pixels.
    """
    check_fractions(val_fraction, test_fraction)
    images, labels = load_digits_tensors()
    images = resize_images(images, image_size)
    train, val, test = stratified_split(labels.numpy(), (val_fraction, test_fraction), seed)
    return ImageDataModule(
        {
            "train": tensor_dataset(images, labels, train),
            "val": tensor_dataset(images, labels, val),
            "test": tensor_dataset(images, labels, test),
        },
        num_classes=10,
        input_shape=(1, images.shape[-2], images.shape[-1]),
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        num_workers=num_workers,
        seed=seed,
        transform=transform,
        eval_transform=eval_transform,
    )
