"""Core transforms: compose (with registry specs) and per-channel normalize."""

from __future__ import annotations

import pytest
import torch

from accel.core.errors import ConfigError
from accel.core.registry import build


def test_normalize_per_channel_on_images_and_batches() -> None:
    normalize = build("transforms", {"name": "normalize", "mean": [1.0, 2.0], "std": [2.0, 4.0]})
    image = torch.stack([torch.full((3, 3), 3.0), torch.full((3, 3), 6.0)])
    assert torch.allclose(normalize(image), torch.ones(2, 3, 3))
    assert torch.allclose(normalize(image.unsqueeze(0)), torch.ones(1, 2, 3, 3))


def test_compose_builds_specs_and_applies_in_order() -> None:
    compose = build(
        "transforms",
        {
            "name": "compose",
            "transforms": [{"name": "normalize", "mean": 1.0, "std": 2.0}, lambda x: x * 10],
        },
    )
    assert compose(torch.tensor([5.0])).item() == 20.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "normalize", "mean": [0.0, 0.0], "std": [1.0]}, r"mean has 2 values, std has 1"),
        ({"name": "normalize", "mean": [0.0], "std": [0.0]}, r"std must be non-zero, got \[0\.0\]"),
        (
            {"name": "compose", "transforms": "normalize"},
            r"transform 'compose': transforms must be a list, got str",
        ),
    ],
)
def test_bad_transform_options_are_one_line(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build("transforms", spec)
