"""MLPs for tables, registered in `accel.models`: `mlp` and `residual_mlp`.

The model takes encoded rows `(N, C)` (see `accel.core.records`; `input_columns()` describes
them) and starts with the fitted
preprocessing (`TabularPreprocessor`), so a checkpoint, an ONNX file or a `.pt2` program
applies exactly the transform training used. Classification gives logits `(N, classes)`;
regression gives `(N,)` in the target's units; in training its gradient is that of the
standardized target (the loss divided by the target's variance), so one learning rate fits
targets of any scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from accel.core.errors import ConfigError
from accel.tabular.preprocessing import TabularPreprocessor

NORMS = ("batch", "layer", "none")


def norm_layer(kind: str, width: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return nn.Identity()


class DenseBlock(nn.Module):
    """Linear -> norm -> ReLU -> dropout."""

    def __init__(self, *, width_in: int, width: int, norm: str, dropout: float) -> None:
        super().__init__()
        self.linear = nn.Linear(width_in, width)
        self.norm = norm_layer(norm, width)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.act(self.norm(self.linear(x))))


class ResidualBlock(nn.Module):
    """x + Linear(ReLU(Linear(norm(x)))): a pre-norm residual block of constant width."""

    def __init__(self, *, width: int, norm: str, dropout: float) -> None:
        super().__init__()
        self.norm = norm_layer(norm, width)
        self.inner = nn.Linear(width, 2 * width)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.outer = nn.Linear(2 * width, width)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.outer(self.drop(self.act(self.inner(self.norm(x)))))


class TabularModel(nn.Module):
    """Preprocessing, optional category embeddings, a body and a head chosen by the task."""

    def __init__(
        self,
        *,
        preprocessing: Mapping[str, Any],
        body: nn.Module,
        body_width: int,
        num_classes: int | None,
        embedding_dim: int | None,
    ) -> None:
        super().__init__()
        self.preprocess = TabularPreprocessor(preprocessing)
        self.task = self.preprocess.schema.task
        cards = self.preprocess.cardinalities
        self.embeddings = nn.ModuleList(
            nn.Embedding(c + 1, embedding_dim) for c in cards if embedding_dim
        )  # index 0: an unknown category
        self.body = body
        outputs = num_classes if self.task == "classification" else 1
        self.head = nn.Linear(body_width, int(outputs or 0))
        target = preprocessing.get("target") or {"center": 0.0, "scale": 1.0}
        self.register_buffer("target_center", torch.tensor(float(target["center"])))
        self.register_buffer("target_scale", torch.tensor(float(target["scale"])))

    def input_columns(self) -> dict[str, Any]:
        """The columns this model reads, in input order, and what it returns, as accel-core's
        plain-JSON record format (`accel.core.protocols.RecordModel`): what
        `accel.core.records.encode_records` needs to turn JSON rows into this model's input,
        and what `accel compress` writes as `columns.json` beside an exported model."""
        return self.preprocess.schema.record_format().as_dict()

    def features(self, x: Tensor) -> Tensor:
        """The preprocessed row: numeric block, then encoded or embedded categories."""
        codes = self.preprocess.codes(x)
        if len(self.embeddings):
            index = (codes + 1).clamp_min(0).long()
            parts = [emb(index[:, i]) for i, emb in enumerate(self.embeddings)]
            return torch.cat([self.preprocess.numeric(x), *parts], dim=1)
        return torch.cat([self.preprocess.numeric(x), self.preprocess.encode(codes)], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(self.body(self.features(x)))
        if self.task == "classification":
            return out
        z = out.squeeze(-1)
        y = z * self.target_scale + self.target_center
        if self.training:  # the value in target units, the gradient of the standardized one
            y = y.detach() + (z - z.detach()) / self.target_scale
        return y


def feature_width(spec: Mapping[str, Any], embedding_dim: int | None) -> int:
    """How many features the body receives for this preprocessing spec."""
    probe = TabularPreprocessor(spec)
    cards = probe.cardinalities
    encoded = len(cards) * embedding_dim if embedding_dim else probe.encoded_width()
    return probe.numeric_width + encoded


def check_options(
    preprocessing: Any,
    num_classes: int | None,
    in_channels: int | None,
    norm: str,
    dropout: float,
    embedding_dim: int | None,
    name: str,
) -> None:
    if preprocessing is None:
        raise ConfigError(
            f"model {name} needs the preprocessing a tabular data module fits: train it with "
            "one (data=wine, data=csv data.path=...), or pass preprocessing=data.preprocessing"
        )
    if norm not in NORMS:
        raise ConfigError(f"model.norm: {norm!r} is not valid; use one of {NORMS}")
    if not 0 <= dropout < 1:
        raise ConfigError(f"model.dropout: {dropout} must be in [0, 1)")
    if embedding_dim is not None and embedding_dim < 1:
        raise ConfigError(f"model.embedding_dim: {embedding_dim} must be >= 1 or null")
    columns = len(preprocessing.get("schema", {}).get("columns", ()))
    if in_channels is not None and in_channels != columns:
        raise ConfigError(
            f"model.in_channels: {in_channels} does not match the {columns} columns of the "
            "preprocessing's schema"
        )
    if preprocessing.get("schema", {}).get("target", {}).get("kind") != "numeric" and (
        num_classes is None or num_classes < 2
    ):
        raise ConfigError(f"model {name}: classification needs num_classes >= 2 (from the data)")


def mlp(
    preprocessing: Mapping[str, Any] | None = None,
    num_classes: int | None = None,
    in_channels: int | None = None,
    hidden: Sequence[int] = (128, 64),
    dropout: float = 0.1,
    norm: str = "batch",
    embedding_dim: int | None = None,
) -> TabularModel:
    """An MLP of `hidden` widths (Linear, norm, ReLU, dropout each) on the preprocessed row.

    `preprocessing`, `num_classes` and `in_channels` come from the data module.
    """
    check_options(preprocessing, num_classes, in_channels, norm, dropout, embedding_dim, "mlp")
    assert preprocessing is not None
    if not hidden or any(int(w) < 1 for w in hidden):
        raise ConfigError(f"model.hidden: widths must be >= 1, got {list(hidden)}")
    width = feature_width(preprocessing, embedding_dim)
    blocks = []
    for out in hidden:
        blocks.append(DenseBlock(width_in=width, width=int(out), norm=norm, dropout=dropout))
        width = int(out)
    return TabularModel(
        preprocessing=preprocessing,
        body=nn.Sequential(*blocks),
        body_width=width,
        num_classes=num_classes,
        embedding_dim=embedding_dim,
    )


def residual_mlp(
    preprocessing: Mapping[str, Any] | None = None,
    num_classes: int | None = None,
    in_channels: int | None = None,
    width: int = 128,
    blocks: int = 2,
    dropout: float = 0.1,
    norm: str = "layer",
    embedding_dim: int | None = None,
) -> TabularModel:
    """A linear stem to `width`, then `blocks` pre-norm residual blocks, a norm and the head."""
    check_options(
        preprocessing, num_classes, in_channels, norm, dropout, embedding_dim, "residual_mlp"
    )
    assert preprocessing is not None
    if width < 1 or blocks < 0:
        raise ConfigError(f"model: width ({width}) must be >= 1 and blocks ({blocks}) >= 0")
    body = nn.Sequential(
        nn.Linear(feature_width(preprocessing, embedding_dim), width),
        *(ResidualBlock(width=width, norm=norm, dropout=dropout) for _ in range(blocks)),
        norm_layer(norm, width),
        nn.ReLU(),
    )
    return TabularModel(
        preprocessing=preprocessing,
        body=body,
        body_width=width,
        num_classes=num_classes,
        embedding_dim=embedding_dim,
    )
