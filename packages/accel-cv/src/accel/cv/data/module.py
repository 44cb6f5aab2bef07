"""The data-module object every accel-cv dataset returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch.utils.data import DataLoader, Dataset

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.cv.data.collate import TransformCollate, seeded_generator

TransformSpec = Callable[[Any], Any] | str | Mapping[str, Any] | None


def resolve_optional_transform(spec: TransformSpec) -> Callable[[Any], Any] | None:
    """None, a callable, or a spec built from `accel.transforms`."""
    if spec is None or callable(spec):
        return spec
    return build("transforms", spec)


class ImageDataModule:
    """Train/val/test splits of (image, class) samples with seeded loaders.

    Samples are `(image (C, H, W) float in [0, 1], class index)`; loaders yield
    `(images (N, C, H, W), targets (N,))`, after the optional batched `transform` (train)
    or `eval_transform` (val and test). The train loader shuffles with a generator seeded
    by `seed`, so two data modules with one seed give the same batches.
    """

    def __init__(
        self,
        splits: Mapping[str, Dataset[Any] | None],
        num_classes: int,
        input_shape: tuple[int, int, int],
        class_names: list[str] | None = None,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        seed: int = 0,
        transform: TransformSpec = None,
        eval_transform: TransformSpec = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"data: batch_size must be >= 1, got {batch_size}")
        if num_workers < 0:
            raise ConfigError(f"data: num_workers must be >= 0, got {num_workers}")
        self.splits = dict(splits)
        self.num_classes = num_classes
        self.input_shape = input_shape
        self.class_names = class_names or [str(i) for i in range(num_classes)]
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.transform = resolve_optional_transform(transform)
        self.eval_transform = resolve_optional_transform(eval_transform)

    def __repr__(self) -> str:
        sizes = {k: (len(v) if v is not None else None) for k, v in self.splits.items()}  # type: ignore[arg-type]
        return (
            f"{type(self).__name__}(num_classes={self.num_classes}, "
            f"input_shape={self.input_shape}, splits={sizes})"
        )

    def _loader(self, split: str, train: bool) -> DataLoader[Any] | None:
        dataset = self.splits.get(split)
        if dataset is None:
            return None
        return DataLoader(
            dataset,
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            num_workers=self.num_workers,
            generator=seeded_generator(self.seed),
            collate_fn=TransformCollate(self.transform if train else self.eval_transform),
        )

    def train_dataloader(self) -> DataLoader[Any] | None:
        """Shuffled, seeded, with the training transform."""
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader[Any] | None:
        """In order, with the evaluation transform; None if there is no validation split."""
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader[Any] | None:
        """In order, with the evaluation transform; None if there is no test split."""
        return self._loader("test", train=False)

    def statistics(self, max_samples: int | None = None) -> dict[str, Any]:
        """Class balance, per-channel mean/std and image sizes (see `dataset_statistics`)."""
        from accel.cv.data.stats import dataset_statistics

        return dataset_statistics(self, max_samples=max_samples)
