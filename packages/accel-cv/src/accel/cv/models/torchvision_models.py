"""torchvision's architectures by name (torchvision is optional and imported only here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from accel.core.errors import ConfigError
from accel.core.optional import require


def torchvision_model(
    arch: str, num_classes: int | None = None, weights_path: str | None = None, **kwargs: Any
) -> nn.Module:
    """`torchvision.models.get_model(arch, weights=None, ...)`, weights only from a local file:
    `model: {name: torchvision, arch: resnet18}` (`name` is the registry's key, so the
    architecture is `arch`).

    Needs `pip install accel-cv[torchvision]`. Pretrained hub weights are never downloaded:
    pass `weights_path` to a local state dict (loaded with `weights_only=True`).
    """
    name = arch
    require("torchvision", "accel-cv[torchvision]", f"model 'torchvision' ({name})")
    from torchvision import models

    available = models.list_models()
    if name not in available:
        raise ConfigError(f"torchvision: no model {name!r}; available: {', '.join(available)}")
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    model: nn.Module = models.get_model(name, weights=None, **kwargs)
    if weights_path is not None:
        model.load_state_dict(torch.load(Path(weights_path), map_location="cpu", weights_only=True))
    return model
