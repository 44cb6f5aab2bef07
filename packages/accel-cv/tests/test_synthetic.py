import pytest
import torch

from accel.core.errors import ConfigError
from accel.cv.data.synthetic import make_blobs, synthetic


def test_blobs_sit_where_the_class_says() -> None:
    images, labels = make_blobs(40, 4, 16, 1, noise=0.0, seed=0)
    brightest = images.flatten(1).argmax(1)
    rows, cols = brightest // 16, brightest % 16
    right = labels == 0  # angle 0: to the right of the centre
    assert (cols[right] >= 10).all()
    assert ((rows[right] - 8).abs() <= 2).all()


def test_synthetic_is_seeded_and_shaped() -> None:
    dm = synthetic(num_classes=3, image_size=8, channels=2, size=30, seed=4)
    assert dm.input_shape == (2, 8, 8)
    assert dm.num_classes == 3
    x, y = next(iter(dm.train_dataloader()))
    x2, y2 = next(
        iter(synthetic(num_classes=3, image_size=8, channels=2, size=30, seed=4).train_dataloader())
    )
    assert torch.equal(x, x2)
    assert torch.equal(y, y2)
    assert x.min() >= 0
    assert x.max() <= 1


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ConfigError, match="need num_classes >= 2"):
        synthetic(num_classes=1)
