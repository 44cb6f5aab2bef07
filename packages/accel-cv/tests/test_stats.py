import torch

from accel.cv.data.stats import dataset_statistics
from accel.cv.data.synthetic import synthetic


def test_statistics_report_balance_channel_moments_and_sizes() -> None:
    dm = synthetic(num_classes=4, image_size=8, channels=2, size=40, seed=0)
    stats = dataset_statistics(dm)
    train = stats["splits"]["train"]
    images = dm.splits["train"].tensors[0]
    assert train["count"] == len(images)
    assert sum(train["class_counts"].values()) == len(images)
    expected_mean = images.double().mean(dim=(0, 2, 3))
    expected_std = images.double().permute(1, 0, 2, 3).flatten(1).std(dim=1, unbiased=False)
    assert torch.allclose(
        torch.tensor(train["channel_mean"], dtype=torch.float64), expected_mean, atol=1e-5
    )
    assert torch.allclose(
        torch.tensor(train["channel_std"], dtype=torch.float64), expected_std, atol=1e-5
    )
    assert train["image_sizes"] == {"8x8": len(images)}
    assert stats["input_shape"] == [2, 8, 8]
    assert train["imbalance"] >= 1.0


def test_max_samples_limits_the_work() -> None:
    stats = synthetic(size=64).statistics(max_samples=5)
    assert stats["splits"]["train"]["analyzed"] == 5
    assert stats["splits"]["train"]["count"] == 48


def test_class_counts_cover_the_whole_split_even_when_sampling() -> None:
    stats = synthetic(num_classes=4, size=64).statistics(max_samples=5)
    assert sum(stats["splits"]["train"]["class_counts"].values()) == 48
    assert stats["splits"]["train"]["imbalance"] == 1.0


def test_a_missing_class_gives_no_imbalance_ratio() -> None:
    dm = synthetic(num_classes=4, size=64)
    dm.num_classes = 5  # one class without samples
    assert dm.statistics()["splits"]["train"]["imbalance"] is None
