import pytest
import torch
from cv_patterns import class_map, decode, encode

from accel.core.registry import build
from accel.cv.errors import InputError
from accel.cv.transforms.geometry import RandomResizedCrop, RandomRotation


@pytest.mark.parametrize(
    "transform",
    [
        RandomResizedCrop((12, 10), scale=(0.2, 0.9), interpolation="nearest", seed=1),
        RandomRotation(40, interpolation="nearest", seed=2),
    ],
)
def test_dense_targets_stay_aligned_with_images(transform) -> None:
    mask = class_map()
    images, out_mask = transform((encode(mask), mask))
    assert out_mask.dtype == torch.long
    assert torch.equal(decode(images), out_mask)
    assert not torch.equal(out_mask, mask[..., : out_mask.shape[-2], : out_mask.shape[-1]])


def test_bilinear_images_agree_with_nearest_masks_inside_blocks() -> None:
    mask = class_map()
    images, out_mask = RandomRotation(25, seed=3)((encode(mask), mask))
    crisp = (images[:, 0] * 3 - (images[:, 0] * 3).round()).abs() < 1e-4
    assert crisp.float().mean() > 0.5
    assert torch.equal(decode(images)[crisp], out_mask[crisp])


def test_full_crop_is_the_identity_and_class_targets_pass_through() -> None:
    images = torch.rand(2, 3, 8, 8)
    labels = torch.tensor([1, 2])
    out, out_labels = RandomResizedCrop(8, scale=(1, 1), ratio=(1, 1), seed=0)((images, labels))
    assert torch.allclose(out, images, atol=1e-6)
    assert torch.equal(out_labels, labels)


def test_rotation_by_90_degrees_is_rot90_and_fills_nothing() -> None:
    images = torch.rand(2, 1, 6, 6)
    out = RandomRotation((90, 90), seed=0)(images)
    assert torch.allclose(out, torch.rot90(images, 1, (-2, -1)), atol=1e-6)


def test_rotation_fills_uncovered_corners() -> None:
    mask = torch.zeros(1, 8, 8, dtype=torch.long)
    images, out_mask = RandomRotation((45, 45), fill=0.5, target_fill=255, seed=0)(
        (torch.ones(1, 1, 8, 8), mask)
    )
    assert images[0, 0, 0, 0] == pytest.approx(0.5)
    assert out_mask[0, 0, 0] == 255
    assert out_mask[0, 4, 4] == 0


def test_same_seed_same_output_other_seed_other_output() -> None:
    images = torch.rand(4, 3, 16, 16)
    first = RandomResizedCrop(8, seed=5)(images)
    assert torch.equal(first, RandomResizedCrop(8, seed=5)(images))
    assert not torch.equal(first, RandomResizedCrop(8, seed=6)(images))
    crop = RandomResizedCrop(8, seed=5)
    crop(images)
    crop.reseed(5)
    assert torch.equal(crop(images), first)


def test_registered_and_built_from_config() -> None:
    crop = build("transforms", {"name": "random_resized_crop", "size": 4, "seed": 0})
    assert crop(torch.rand(2, 1, 8, 8)).shape == (2, 1, 4, 4)


def test_bad_arguments_and_inputs() -> None:
    with pytest.raises(InputError, match=r"scale must satisfy 0 < min <= max <= 1, got \(0.5, 2\)"):
        RandomResizedCrop(4, scale=(0.5, 2))
    with pytest.raises(InputError, match="ratio must satisfy"):
        RandomResizedCrop(4, ratio=(2, 1))
    with pytest.raises(InputError, match="interpolation 'cubic' is not one of bilinear, nearest"):
        RandomRotation(10, interpolation="cubic")
    with pytest.raises(InputError, match="degrees must be"):
        RandomRotation((10, -10))
    with pytest.raises(InputError, match=r"a dense target must have the image size \(8, 8\)"):
        RandomRotation(10, seed=0)((torch.rand(2, 1, 8, 8), torch.zeros(2, 4, 4, dtype=torch.long)))
    with pytest.raises(InputError, match="expected a target with batch size 2"):
        RandomRotation(10, seed=0)((torch.rand(2, 1, 8, 8), torch.zeros(3, dtype=torch.long)))
    with pytest.raises(InputError, match=r"expected shape \(N, C, H, W\)"):
        RandomRotation(10, seed=0)(torch.rand(1, 8, 8))
