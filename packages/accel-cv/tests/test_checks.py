import pytest
import torch

from accel.cv.checks import check_images, check_pair
from accel.cv.errors import InputError


def test_check_images_accepts_a_valid_batch() -> None:
    check_images(torch.rand(2, 3, 4, 4), "t", channels=3, value_range=(0, 1), min_size=4)


@pytest.mark.parametrize(
    ("x", "kwargs", "match"),
    [
        (torch.rand(3, 4, 4), {}, r"expected shape \(N, C, H, W\), got \(3, 4, 4\)"),
        (torch.ones(1, 3, 4, 4, dtype=torch.long), {}, "floating-point"),
        (
            torch.rand(1, 4, 4, 4),
            {"channels": 3},
            r"expected 3 channels .* got shape \(1, 4, 4, 4\)",
        ),
        (torch.rand(1, 3, 4, 4), {"channels": (1, 2)}, "expected 1 or 2 channels"),
        (torch.rand(1, 3, 4, 4) * 255, {"value_range": (0, 1)}, r"expected values in \[0, 1\]"),
        (torch.rand(1, 3, 4, 4), {"min_size": 11}, "height and width >= 11"),
    ],
)
def test_check_images_names_the_expected_shape_or_range(x, kwargs, match) -> None:
    with pytest.raises(InputError, match=match):
        check_images(x, "t", **kwargs)


def test_check_images_rejects_a_non_tensor() -> None:
    with pytest.raises(InputError, match="expected a tensor"):
        check_images([1, 2], "t")  # type: ignore[arg-type]


def test_check_pair_rejects_mismatched_shapes() -> None:
    with pytest.raises(InputError, match=r"same shape, got \(1, 3, 4, 4\) and \(1, 3, 5, 4\)"):
        check_pair(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 5, 4), "t")


def test_check_pair_checks_the_prediction_range_too() -> None:
    with pytest.raises(InputError, match="t prediction: expected values in"):
        check_pair(torch.rand(1, 1, 4, 4) + 2, torch.rand(1, 1, 4, 4), "t", value_range=(0, 1))
