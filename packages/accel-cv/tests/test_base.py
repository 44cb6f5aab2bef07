import pytest
import torch

from accel.cv.errors import InputError
from accel.cv.transforms.base import BatchTransform, split_sample


def test_split_sample_accepts_images_or_pairs() -> None:
    images = torch.rand(2, 1, 4, 4)
    assert split_sample(images, "t")[1] is None
    assert split_sample((images, torch.tensor([0, 1])), "t")[1] is not None


def test_split_sample_names_what_it_expects() -> None:
    with pytest.raises(InputError, match=r"t: expected images \(N, C, H, W\) or a pair"):
        split_sample((torch.rand(1, 1, 2, 2),), "t")
    with pytest.raises(InputError, match="expected a target with batch size 1"):
        split_sample((torch.rand(1, 1, 2, 2), torch.tensor(3)), "t")


def test_base_apply_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        BatchTransform(seed=0)(torch.rand(1, 1, 2, 2))
