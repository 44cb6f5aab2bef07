import pytest
import torch

from accel.core.registry import build
from accel.cv.errors import InputError
from accel.cv.transforms.presets import classification_preset


def test_preset_crops_and_mixes_into_soft_targets() -> None:
    preset = build(
        "transforms",
        {
            "name": "classification_preset",
            "size": 8,
            "num_classes": 3,
            "saturation": 0.2,
            "hue": 0.05,
            "rotation": 10,
            "mean": [0.5] * 3,
            "std": [0.25] * 3,
            "cutmix_alpha": 1.0,
            "seed": 0,
        },
    )
    images, labels = torch.rand(4, 3, 12, 12), torch.tensor([0, 1, 2, 0])
    out, targets = preset((images, labels))
    assert out.shape == (4, 3, 8, 8)
    assert torch.allclose(targets.sum(1), torch.ones(4))
    again, _ = classification_preset(
        8,
        3,
        saturation=0.2,
        hue=0.05,
        rotation=10,
        mean=[0.5] * 3,
        std=[0.25] * 3,
        cutmix_alpha=1.0,
        seed=0,
    )((images, labels))
    assert torch.equal(out, again)


def test_preset_without_mixing_keeps_class_indices() -> None:
    out, labels = classification_preset(4, flip=False)(
        (torch.rand(2, 1, 8, 8), torch.tensor([1, 0]))
    )
    assert out.shape == (2, 1, 4, 4)
    assert labels.tolist() == [1, 0]


def test_conflicting_options_are_named() -> None:
    with pytest.raises(InputError, match=r"both mixup_alpha and cutmix_alpha\. Choose one"):
        classification_preset(8, 3, mixup_alpha=0.2, cutmix_alpha=1.0)
    with pytest.raises(InputError, match="give both mean and std"):
        classification_preset(8, mean=[0.5])
