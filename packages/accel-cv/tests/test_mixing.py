import pytest
import torch
from cv_patterns import class_map, decode, encode

from accel.cv.errors import InputError
from accel.cv.transforms.mixing import CutMix, Mixup


def constant_batch(n: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample i is the constant c_i with label i: a mixed image must equal sum_k t_ik c_k."""
    values = torch.linspace(0.1, 0.9, n, dtype=torch.float64)
    images = values.view(-1, 1, 1, 1).expand(n, 2, 6, 6).clone()
    return images, torch.arange(n), values


@pytest.mark.parametrize(
    "transform", [Mixup(alpha=0.4, num_classes=8, seed=0), CutMix(alpha=1.0, num_classes=8, seed=0)]
)
def test_targets_sum_to_one_and_match_the_mixed_images(transform) -> None:
    images, labels, values = constant_batch()
    mixed, targets = transform((images, labels))
    assert targets.shape == (8, 8)
    assert torch.allclose(targets.sum(dim=1), torch.ones(8, dtype=targets.dtype))
    assert (targets >= 0).all()
    expected = targets.double() @ values
    assert torch.allclose(mixed.mean(dim=(1, 2, 3)), expected, atol=1e-6)
    assert (targets.max(dim=1).values < 1).any()  # something was mixed


def test_soft_targets_mix_again() -> None:
    images, labels, _ = constant_batch(4)
    _, soft = Mixup(num_classes=4, seed=1)((images, labels))
    _, twice = CutMix(seed=2)((images, soft))
    assert torch.allclose(twice.sum(dim=1), torch.ones(4))


def test_cutmix_pastes_dense_targets_with_the_image() -> None:
    mask = class_map(n=6)
    images, out_mask = CutMix(seed=4)((encode(mask), mask))
    assert torch.equal(decode(images), out_mask)
    assert not torch.equal(out_mask, mask)


def test_reproducible_under_a_seed_and_p_zero_is_identity() -> None:
    images, labels, _ = constant_batch()
    a = Mixup(num_classes=8, seed=3)((images, labels))
    b = Mixup(num_classes=8, seed=3)((images, labels))
    assert torch.equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
    same, targets = CutMix(num_classes=8, p=0.0, seed=0)((images, labels))
    assert torch.equal(same, images)
    assert torch.equal(targets, torch.eye(8))


def test_bad_inputs_name_what_is_needed() -> None:
    images, labels, _ = constant_batch(4)
    with pytest.raises(InputError, match=r"needs \(images, target\)"):
        Mixup(num_classes=4, seed=0)(images)
    with pytest.raises(InputError, match="class indices need num_classes"):
        Mixup(seed=0)((images, labels))
    with pytest.raises(InputError, match=r"class indices in \[0, 1\], got values in \[0, 3\]"):
        CutMix(num_classes=2, seed=0)((images, labels))
    with pytest.raises(InputError, match="alpha must be > 0"):
        Mixup(alpha=0)
    with pytest.raises(InputError, match=r"p must be in \[0, 1\]"):
        CutMix(p=1.5)
    with pytest.raises(InputError, match=r"class indices \(N,\) or probabilities \(N, K\)"):
        Mixup(seed=0)((images, torch.zeros(4, 6, 6)))
