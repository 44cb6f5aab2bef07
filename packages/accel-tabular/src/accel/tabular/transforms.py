"""Preprocessing steps, registered in `accel.transforms`: imputation, scaling and encoding.

Each step is an `nn.Module` over a block of columns `(N, K)` whose fitted parameters are
buffers (plain tensors in a checkpoint, constants in an ONNX or `.pt2` export) and whose
`fit(values) -> params` (scikit-learn on the training rows) gives the keyword arguments that
rebuild it: `median_impute(fill=[...])`, `standard_scale(center=[...], scale=[...])`. A step
built without its parameters refuses to run (`fit` it first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from accel.core.errors import ConfigError


def _buffer(values: Sequence[float] | None) -> Tensor:
    return torch.tensor(list(values or ()), dtype=torch.float32)


class TabularStep(nn.Module):
    """A fitted transform of a block of columns; `output_width(k)` says how many columns the
    step makes of k."""

    @classmethod
    def fit(cls, values: np.ndarray, *args: Any) -> dict[str, Any]:
        """The keyword arguments of this step fitted on training `values` (N, K)."""
        raise NotImplementedError

    def output_width(self, width: int) -> int:
        return width

    def check_width(self, x: Tensor, expected: int) -> None:
        if expected == 0 and x.shape[-1] > 0:
            raise ConfigError(f"{type(self).__name__} is not fitted: fit it on training rows")
        if x.shape[-1] != expected:
            raise ConfigError(
                f"{type(self).__name__} was fitted on {expected} columns, got {x.shape[-1]}"
            )


class Impute(TabularStep):
    """Replace NaN by a fitted value per column (scikit-learn's SimpleImputer)."""

    strategy = "median"
    fill: Tensor

    def __init__(self, fill: Sequence[float] | None = None) -> None:
        super().__init__()
        self.register_buffer("fill", _buffer(fill))

    @classmethod
    def fit(cls, values: np.ndarray, *args: Any) -> dict[str, Any]:
        from sklearn.impute import SimpleImputer

        imputer = SimpleImputer(strategy=cls.strategy, keep_empty_features=True)
        return {"fill": [float(v) for v in imputer.fit(values).statistics_]}

    def forward(self, x: Tensor) -> Tensor:
        self.check_width(x, self.fill.numel())
        return torch.where(torch.isnan(x), self.fill, x)


class MedianImpute(Impute):
    """Missing numbers become the training median of their column."""

    strategy = "median"


class MeanImpute(Impute):
    """Missing numbers become the training mean of their column."""

    strategy = "mean"


class ModeImpute(Impute):
    """Missing values become the most frequent training value (category) of their column."""

    strategy = "most_frequent"


class Scale(TabularStep):
    """`(x - center) / scale` per column, fitted by a scikit-learn scaler."""

    center: Tensor
    scale: Tensor

    def __init__(
        self, center: Sequence[float] | None = None, scale: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        if len(center or ()) != len(scale or ()):
            raise ConfigError(f"{type(self).__name__}: center and scale differ in length")
        self.register_buffer("center", _buffer(center))
        self.register_buffer("scale", _buffer(scale))

    @classmethod
    def scaler(cls) -> Any:
        raise NotImplementedError

    @classmethod
    def fit(cls, values: np.ndarray, *args: Any) -> dict[str, Any]:
        scaler = cls.scaler().fit(values)
        center = getattr(scaler, "mean_", None)
        center = scaler.center_ if center is None else center
        return {"center": [float(v) for v in center], "scale": [float(v) for v in scaler.scale_]}

    def forward(self, x: Tensor) -> Tensor:
        self.check_width(x, self.center.numel())
        return (x - self.center) / self.scale


class StandardScale(Scale):
    """Zero mean, unit variance on the training rows (StandardScaler)."""

    @classmethod
    def scaler(cls) -> Any:
        from sklearn.preprocessing import StandardScaler

        return StandardScaler()


class RobustScale(Scale):
    """Zero median, unit inter-quartile range on the training rows (RobustScaler): outliers
    do not squash the other values."""

    @classmethod
    def scaler(cls) -> Any:
        from sklearn.preprocessing import RobustScaler

        return RobustScaler()


class Encode(TabularStep):
    """Category codes (0..n-1, -1 unknown) of columns with `cardinalities` categories."""

    def __init__(self, cardinalities: Sequence[int] | None = None) -> None:
        super().__init__()
        self.cardinalities = [int(c) for c in cardinalities or ()]

    @classmethod
    def fit(cls, values: np.ndarray, *args: Any) -> dict[str, Any]:
        """`fit(values, cardinalities)`: the encoding needs only the category counts."""
        cardinalities = args[0] if args else ()
        return {"cardinalities": [int(c) for c in cardinalities]}


class OneHot(Encode):
    """One 0/1 column per category (OneHotEncoder's layout); an unknown category is all
    zeros (handle_unknown='ignore')."""

    categories: Tensor
    owner: Tensor

    def __init__(self, cardinalities: Sequence[int] | None = None) -> None:
        super().__init__(cardinalities)
        self.register_buffer(
            "categories",
            torch.cat([torch.arange(c) for c in self.cardinalities] or [_buffer(())]).float(),
        )
        self.register_buffer(
            "owner",
            torch.cat(
                [torch.full((c,), i) for i, c in enumerate(self.cardinalities)] or [_buffer(())]
            ).long(),
        )

    def output_width(self, width: int) -> int:
        return sum(self.cardinalities)

    def forward(self, x: Tensor) -> Tensor:
        self.check_width(x, len(self.cardinalities))
        return (x[:, self.owner] == self.categories).to(x.dtype)


class OrdinalEncode(Encode):
    """The category code itself as one number (OrdinalEncoder; -1 for unknown)."""

    def forward(self, x: Tensor) -> Tensor:
        self.check_width(x, len(self.cardinalities))
        return x
