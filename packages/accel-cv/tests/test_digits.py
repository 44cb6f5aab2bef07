import pytest
import torch

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.cv.data.digits import digits


def test_digits_splits_are_disjoint_stratified_and_in_range() -> None:
    dm = build("datasets", {"name": "digits", "seed": 0})
    assert dm.num_classes == 10
    assert dm.input_shape == (1, 8, 8)
    sizes = {k: len(v) for k, v in dm.splits.items()}
    assert sizes == {"train": 1257, "val": 180, "test": 360}
    test_labels = dm.splits["test"].tensors[1]
    assert torch.bincount(test_labels).min() >= 35  # stratified: every class about 36
    train_images = dm.splits["train"].tensors[0]
    assert float(train_images.min()) >= 0
    assert float(train_images.max()) <= 1
    test_rows = {tuple(x.flatten().tolist()) for x in dm.splits["test"].tensors[0][:50]}
    train_rows = {tuple(x.flatten().tolist()) for x in train_images}
    assert len(test_rows & train_rows) < 5  # a few digits are duplicated in the data itself


def test_loaders_are_seeded() -> None:
    a, b = digits(seed=1), digits(seed=1)
    xa, ya = next(iter(a.train_dataloader()))
    xb, yb = next(iter(b.train_dataloader()))
    assert torch.equal(xa, xb)
    assert torch.equal(ya, yb)
    xc, _ = next(iter(digits(seed=2).train_dataloader()))
    assert not torch.equal(xa, xc)
    first_epoch, second_epoch = [next(iter(a.train_dataloader()))[1] for _ in range(2)]
    assert torch.equal(first_epoch, second_epoch)  # a fresh loader restarts the seed


def test_upsampling_and_transforms() -> None:
    dm = digits(image_size=16, batch_size=8, transform={"name": "random_flip", "p": 1.0, "seed": 0})
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (8, 1, 16, 16)
    assert dm.input_shape == (1, 16, 16)
    plain = digits(image_size=16, batch_size=8)
    raw, raw_labels = next(iter(plain.train_dataloader()))
    assert torch.equal(images, raw.flip(-1))
    assert torch.equal(labels, raw_labels)
    assert dm.val_dataloader() is not None


def test_bad_fractions_are_named() -> None:
    with pytest.raises(ConfigError, match=r"val_fraction \(0.6\) and test_fraction \(0.5\)"):
        digits(val_fraction=0.6, test_fraction=0.5)
    with pytest.raises(ConfigError, match="batch_size must be >= 1, got 0"):
        digits(batch_size=0)


def test_empty_validation_split_gives_no_loader() -> None:
    assert digits(val_fraction=0).val_dataloader() is None
