"""Plugin skeletons for `accel add`: small, working components a user edits from there."""

from __future__ import annotations

MODEL = '''"""{name}: a model for accel (registered as accel.models '{name}')."""

from __future__ import annotations

import torch
from torch import nn


class {cls}(nn.Module):
    """A small CNN: images (N, in_channels, H, W) -> logits (N, num_classes)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), 1))
'''

LOSS = '''"""{name}: a loss for accel (registered as accel.losses '{name}')."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class {cls}(nn.Module):
    """`loss(logits (N, C), target (N,) class indices) -> scalar`: cross-entropy, scaled."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.weight * F.cross_entropy(prediction, target)
'''

TRANSFORM = '''"""{name}: a transform for accel (registered as accel.transforms '{name}')."""

from __future__ import annotations

from typing import Any


class {cls}:
    """`transform(sample) -> sample`: returns the sample unchanged; edit to taste."""

    def __init__(self, p: float = 1.0) -> None:
        self.p = p

    def __call__(self, sample: Any) -> Any:
        return sample
'''

CALLBACK = '''"""{name}: a callback for accel (registered as accel.callbacks '{name}')."""

from __future__ import annotations

import logging
from typing import Any

from accel.core.callbacks.base import Callback

log = logging.getLogger(__name__)


class {cls}(Callback):
    """Logs a line at the end of every epoch; add `on_<event>` methods as needed."""

    priority = "normal"

    def __init__(self, message: str = "epoch done") -> None:
        self.message = message

    def on_epoch_end(self, state: Any) -> None:
        log.info("%s: %s", self.message, state)
'''

PYPROJECT = """[project]
name = "{dist}"
version = "0.1.0"
description = "This project's own accel components (written by accel add)."
requires-python = ">=3.11"
dependencies = ["accel-core>=0.1,<0.2"]

[build-system]
requires = ["uv_build>=0.9,<0.14"]
build-backend = "uv_build"

[tool.uv.build-backend]
module-name = "{package}"
"""

CODE_TEMPLATES: dict[str, str] = {
    "model": MODEL,
    "loss": LOSS,
    "transform": TRANSFORM,
    "callback": CALLBACK,
}
