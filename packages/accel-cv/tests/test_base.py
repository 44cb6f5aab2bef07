import pytest
import torch

from accel.cv.errors import InputError
from accel.cv.transforms.base import BatchTransform, split_sample


def test_split_sample_accepts_images_or_pairs() -> None:
    images, target = torch.rand(2, 1, 4, 4), torch.tensor([0, 1])
    alone, no_target = split_sample(images, "t")
    assert torch.equal(alone, images)
    assert no_target is None
    for pair in ((images, target), [images, target]):
        got_images, got_target = split_sample(pair, "t")
        assert torch.equal(got_images, images)
        assert got_target is not None
        assert torch.equal(got_target, target)


def test_split_sample_names_what_it_expects() -> None:
    with pytest.raises(InputError, match=r"t: expected images \(N, C, H, W\) or a pair"):
        split_sample((torch.rand(1, 1, 2, 2),), "t")
    with pytest.raises(InputError, match="expected a target with batch size 1"):
        split_sample((torch.rand(1, 1, 2, 2), torch.tensor(3)), "t")


def test_base_apply_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        BatchTransform(seed=0)(torch.rand(1, 1, 2, 2))
