import pytest
import torch
from cv_patterns import class_map, decode, encode

from accel.cv.errors import InputError
from accel.cv.transforms.flip import RandomFlip


def test_flip_moves_images_and_masks_together() -> None:
    mask = class_map(n=16)
    images, out_mask = RandomFlip(p=0.5, horizontal=True, vertical=True, seed=0)(
        (encode(mask), mask)
    )
    assert torch.equal(decode(images), out_mask)
    changed = (out_mask != mask).flatten(1).any(1)
    assert 0 < int(changed.sum()) < 16


def test_p_one_flips_all_and_p_zero_none() -> None:
    images = torch.rand(3, 2, 4, 5)
    assert torch.equal(RandomFlip(p=1.0, seed=0)(images), images.flip(-1))
    assert torch.equal(
        RandomFlip(p=1.0, horizontal=False, vertical=True, seed=0)(images), images.flip(-2)
    )
    assert torch.equal(RandomFlip(p=0.0, seed=0)(images), images)


def test_reproducible_under_a_seed() -> None:
    images = torch.rand(32, 1, 4, 4)
    assert torch.equal(RandomFlip(seed=9)(images), RandomFlip(seed=9)(images))
    torch.manual_seed(3)
    a = RandomFlip()(images)
    torch.manual_seed(3)
    assert torch.equal(RandomFlip()(images), a)


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match=r"p must be in \[0, 1\], got 2"):
        RandomFlip(p=2)
    with pytest.raises(InputError, match="enable horizontal or vertical"):
        RandomFlip(horizontal=False)
