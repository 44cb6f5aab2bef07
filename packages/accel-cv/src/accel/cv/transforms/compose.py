"""Chain image transforms (`image_compose`): like accel-core's `compose`, plus `reseed`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from accel.core.registry import build
from accel.cv.transforms.base import Sample

TransformSpec = Callable[[Any], Any] | str | Mapping[str, Any]


def resolve_transform(spec: TransformSpec) -> Callable[[Any], Any]:
    """A callable stays as it is; a name or `{name: ..., ...}` is built from the registry."""
    return spec if callable(spec) else build("transforms", spec)


class Compose:
    """Apply transforms in order to `images` or `(images, target)`.

    `reseed(seed)` reseeds every member that has a random stream with `seed + its position`.
    """

    def __init__(self, transforms: Sequence[TransformSpec]) -> None:
        self.transforms = [resolve_transform(t) for t in transforms]

    def __call__(self, sample: Sample) -> Sample:
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    def reseed(self, seed: int) -> None:
        for position, transform in enumerate(self.transforms):
            if hasattr(transform, "reseed"):
                transform.reseed(seed + position)

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"
