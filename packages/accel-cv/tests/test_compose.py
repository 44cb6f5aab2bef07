import torch

from accel.core.registry import build
from accel.cv.transforms.compose import Compose
from accel.cv.transforms.flip import RandomFlip


def test_compose_runs_callables_and_specs_in_order() -> None:
    pipeline = Compose(
        [RandomFlip(p=1.0, seed=0), {"name": "image_normalize", "mean": [0.5], "std": [0.5]}]
    )
    images = torch.rand(2, 1, 3, 3)
    assert torch.allclose(pipeline(images), (images.flip(-1) - 0.5) / 0.5)


def test_reseed_makes_a_pipeline_repeat() -> None:
    pipeline = build(
        "transforms",
        {
            "name": "image_compose",
            "transforms": [
                {"name": "random_flip", "seed": 1},
                {"name": "random_rotation", "seed": 2},
            ],
        },
    )
    images = torch.rand(8, 1, 6, 6)
    pipeline.reseed(7)
    first = pipeline(images)
    assert not torch.equal(pipeline(images), first)
    pipeline.reseed(7)
    assert torch.equal(pipeline(images), first)
