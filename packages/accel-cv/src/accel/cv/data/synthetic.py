"""A synthetic, learnable image dataset for tests and demos: one bright blob per class position."""

from __future__ import annotations

import math

import torch

from accel.core.errors import ConfigError
from accel.cv.data.module import ImageDataModule, TransformSpec
from accel.cv.data.tensors import check_fractions, stratified_split, tensor_dataset


def make_blobs(
    count: int, num_classes: int, image_size: int, channels: int, noise: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (count, channels, S, S) in [0, 1] with a Gaussian blob whose place is the class."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % num_classes
    labels = labels[torch.randperm(count, generator=generator)]
    angle = 2 * math.pi * labels.float() / num_classes
    radius = image_size / 4
    cy = image_size / 2 + radius * torch.sin(angle) + torch.randn(count, generator=generator) * 0.5
    cx = image_size / 2 + radius * torch.cos(angle) + torch.randn(count, generator=generator) * 0.5
    grid = torch.arange(image_size, dtype=torch.float32) + 0.5
    dy = (grid.view(1, -1, 1) - cy.view(-1, 1, 1)) ** 2
    dx = (grid.view(1, 1, -1) - cx.view(-1, 1, 1)) ** 2
    blob = torch.exp(-(dy + dx) / (2 * (image_size / 10) ** 2))
    tint = 0.5 + 0.5 * torch.rand(count, channels, 1, 1, generator=generator)
    images = blob.unsqueeze(1) * tint
    images = images + noise * torch.randn(images.shape, generator=generator)
    return images.clamp(0, 1), labels


def synthetic(
    num_classes: int = 4,
    image_size: int = 16,
    channels: int = 3,
    size: int = 256,
    noise: float = 0.05,
    val_fraction: float = 0.125,
    test_fraction: float = 0.125,
    batch_size: int = 32,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
    seed: int = 0,
    transform: TransformSpec = None,
    eval_transform: TransformSpec = None,
) -> ImageDataModule:
    """`size` seeded images (channels, image_size, image_size) in [0, 1] over `num_classes`."""
    if num_classes < 2 or image_size < 4 or channels < 1 or size < num_classes:
        raise ConfigError(
            "synthetic: need num_classes >= 2, image_size >= 4, channels >= 1 and "
            f"size >= num_classes; got {num_classes}, {image_size}, {channels}, {size}"
        )
    check_fractions(val_fraction, test_fraction)
    images, labels = make_blobs(size, num_classes, image_size, channels, noise, seed)
    train, val, test = stratified_split(labels.numpy(), (val_fraction, test_fraction), seed)
    return ImageDataModule(
        {
            "train": tensor_dataset(images, labels, train),
            "val": tensor_dataset(images, labels, val),
            "test": tensor_dataset(images, labels, test),
        },
        num_classes=num_classes,
        input_shape=(channels, image_size, image_size),
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        num_workers=num_workers,
        seed=seed,
        transform=transform,
        eval_transform=eval_transform,
    )
