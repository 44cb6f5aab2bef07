"""Statistics and the sample grid."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from accel.cli.analysis.data import data_statistics, loader_statistics, sample_batch, save_grid


class NormalizedData:
    """A real data module whose loaders normalize its images (mean 0.5 -> 0), while its own
    `statistics` describe the stored images and honour `max_samples`, as accel-cv's do: the
    two sources disagree, so a report shows which one was used."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.images = torch.rand(8, 2, 4, 4, generator=generator)
        self.targets = torch.tensor([0, 1, 1, 1, 0, 1, 1, 1])

    def statistics(self, max_samples: int | None = None) -> dict[str, object]:
        count = min(len(self.images), max_samples or len(self.images))
        images, targets = self.images[:count], self.targets[:count]
        classes = {str(k): int((targets == k).sum()) for k in targets.unique().tolist()}
        return {
            "splits": {
                "train": {
                    "count": count,
                    "class_counts": classes,
                    "channel_mean": images.mean(dim=(0, 2, 3)).tolist(),
                }
            }
        }

    def train_dataloader(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        normalized = (self.images - 0.5) / 0.5
        return list(zip(normalized.split(4), self.targets.split(4), strict=True))

    def val_dataloader(self) -> None:
        return None

    def test_dataloader(self) -> None:
        return None


class Loaders:
    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.batches = batches

    def train_dataloader(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return self.batches

    def val_dataloader(self) -> None:
        return None

    def test_dataloader(self) -> None:
        return None


def test_prefers_the_data_modules_own_statistics() -> None:
    data = NormalizedData()
    stats = data_statistics(data, 4)
    assert stats == data.statistics(max_samples=4)
    train = stats["splits"]["train"]
    assert train["count"] == 4  # max_samples reached the data module
    assert train["class_counts"] == {"0": 1, "1": 3}
    computed = loader_statistics(data, 4)["splits"]["train"]
    assert train["channel_mean"] == pytest.approx(data.images[:4].mean(dim=(0, 2, 3)).tolist())
    assert computed["channel_mean"] != pytest.approx(train["channel_mean"], abs=0.1)


def test_statistics_from_loaders() -> None:
    x = torch.stack([torch.zeros(2, 4, 4), torch.ones(2, 4, 4)])
    stats = data_statistics(Loaders([(x, torch.tensor([0, 1]))]))
    train = stats["splits"]["train"]
    assert train["count"] == 2
    assert train["class_counts"] == {"0": 1, "1": 1}
    assert train["channel_mean"] == [0.5, 0.5]
    assert train["channel_std"] == [0.5, 0.5]
    assert train["imbalance"] == 1.0
    assert "val" not in stats["splits"]


def test_grid_png_has_one_cell_per_image(tmp_path: Path) -> None:
    images = torch.rand(5, 1, 8, 8)
    path = save_grid(images, tmp_path / "g.png", cell=10)
    with Image.open(path) as grid:
        assert grid.size == (3 * 12, 2 * 12)  # 3 columns, 2 rows, 1 px border each side


def test_sample_batch_takes_count_across_batches() -> None:
    batches = [(torch.rand(3, 1, 2, 2), torch.zeros(3)) for _ in range(3)]
    images, targets = sample_batch(Loaders(batches), 5)
    assert images.shape == (5, 1, 2, 2)
    assert len(targets) == 5


def test_sample_batch_without_loaders() -> None:
    with pytest.raises(ValueError, match="no loader"):
        sample_batch(Loaders([]).__class__.__new__(EmptyModule), 1)


class EmptyModule:
    def train_dataloader(self) -> None:
        return None

    def val_dataloader(self) -> None:
        return None

    def test_dataloader(self) -> None:
        return None
