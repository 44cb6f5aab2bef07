"""Perceptual (feature) loss: compare images through the features of a frozen network.

The network is yours (an `nn.Module`) or a registered model (`{"name": "resnet20", ...}`),
with optional local weights: nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from accel.core.registry import build
from accel.cv.checks import check_pair
from accel.cv.errors import InputError


def load_feature_network(
    network: nn.Module | str | Mapping[str, Any], weights: str | Path | None = None
) -> nn.Module:
    """Build (from `accel.models`) or take the network, load local weights, freeze it."""
    model = network if isinstance(network, nn.Module) else build("models", network)
    if weights is not None:
        state = torch.load(Path(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


class PerceptualLoss(nn.Module):
    """Weighted distance between features of prediction and target at named layers.

    Inputs: images (N, C, H, W) in whatever range and channel count the network expects
    (optionally normalised here by `mean`/`std` per channel). `layers` are submodule names of
    the network (see `dict(network.named_modules())`); `criterion` is "l1" or "mse".
    The network stays frozen and in eval mode.
    """

    def __init__(
        self,
        network: nn.Module | str | Mapping[str, Any],
        layers: Sequence[str],
        weights: Sequence[float] | None = None,
        criterion: str = "l1",
        network_weights: str | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if criterion not in ("l1", "mse"):
            raise InputError(f"perceptual loss: criterion {criterion!r} is not one of l1, mse")
        if not layers:
            raise InputError("perceptual loss: give at least one layer name")
        if weights is not None and len(weights) != len(layers):
            raise InputError(
                f"perceptual loss: {len(weights)} weights for {len(layers)} layers; give one each"
            )
        self.network = load_feature_network(network, network_weights)
        modules = dict(self.network.named_modules())
        unknown = [name for name in layers if name not in modules]
        if unknown:
            known = ", ".join(n for n in modules if n) or "none"
            raise InputError(f"perceptual loss: no layer {unknown[0]!r}; layers are: {known}")
        self.layers = list(layers)
        self.weights = list(weights) if weights is not None else [1.0] * len(layers)
        self.distance = F.l1_loss if criterion == "l1" else F.mse_loss
        self.mean = None if mean is None else torch.tensor(list(mean)).view(1, -1, 1, 1)
        self.std = None if std is None else torch.tensor(list(std)).view(1, -1, 1, 1)
        self._features: dict[str, torch.Tensor] = {}
        for name in self.layers:
            modules[name].register_forward_hook(self._keep(name))

    def train(self, mode: bool = True) -> PerceptualLoss:
        """Keep the feature network in eval mode whatever the loss is set to."""
        super().train(mode)
        self.network.eval()
        return self

    def _keep(self, name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            self._features[name] = output

        return hook

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Features of the chosen layers for (N, C, H, W) images."""
        if self.mean is not None:
            images = images - self.mean.to(images)
        if self.std is not None:
            images = images / self.std.to(images)
        self._features = {}
        self.network(images)
        return [self._features[name] for name in self.layers]

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_pair(prediction, target, "perceptual loss")
        with torch.no_grad():
            wanted = [f.detach() for f in self.features(target)]
        got = self.features(prediction)
        terms = [w * self.distance(g, t) for w, g, t in zip(self.weights, got, wanted, strict=True)]
        return torch.stack(terms).sum()
