"""Fit the preprocessing on the training rows and describe it as plain data (the spec a
model is built from, stored in its checkpoint's config); `TabularPreprocessor` applies it.

The spec names its steps by registry name (`accel.transforms`) with their fitted parameters
as lists of numbers, and carries the schema (category -> code as the categories' order), so a
checkpoint holds everything needed to turn new rows into model inputs, with no pickle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.tabular.schema import Schema, schema_from_dict
from accel.tabular.transforms import Encode, TabularStep

SPEC_VERSION = 1
NUMERIC_STEPS = ("median_impute", "standard_scale")
CATEGORICAL_STEPS = ("mode_impute", "one_hot")


def step_class(name: str, block: str) -> type[TabularStep]:
    """The registered step `name`, checked to be a tabular step."""
    from accel.core.registry import registry

    factory = registry("transforms").get(name)
    if not (isinstance(factory, type) and issubclass(factory, TabularStep)):
        raise ConfigError(
            f"data.{block}: transform '{name}' is not a tabular preprocessing step "
            "(median_impute, mean_impute, mode_impute, standard_scale, robust_scale, one_hot, "
            "ordinal_encode)"
        )
    return factory


def fit_block(
    values: np.ndarray, steps: Sequence[str], block: str, cardinalities: Sequence[int] = ()
) -> list[dict[str, Any]]:
    """Fit each step on the output of the ones before it; their specs, in order."""
    fitted: list[dict[str, Any]] = []
    current = values.astype(np.float64)
    for name in steps:
        cls = step_class(name, block)
        if issubclass(cls, Encode):
            params = cls.fit(current, cardinalities)
        else:
            params = cls.fit(current) if current.shape[1] else {}
        fitted.append({"name": name, **params})
        if current.shape[1]:
            module = cls(**params)
            with torch.no_grad():
                current = module(torch.from_numpy(current).float()).double().numpy()
    return fitted


def fit_preprocessing(
    inputs: np.ndarray,
    targets: np.ndarray,
    schema: Schema,
    *,
    numeric: Sequence[str] = NUMERIC_STEPS,
    categorical: Sequence[str] = CATEGORICAL_STEPS,
) -> dict[str, Any]:
    """The spec of the preprocessing fitted on the training rows `inputs` (encoded, see
    `accel.tabular.encode`), with the target's scaling for regression."""
    kinds = [c.kind for c in schema.columns]
    num = [i for i, k in enumerate(kinds) if k != "categorical"]
    cat = [i for i, k in enumerate(kinds) if k == "categorical"]
    cards = [len(schema.columns[i].categories or ()) for i in cat]
    encoders = [s for s in categorical if issubclass(step_class(s, "categorical"), Encode)]
    if (cat and len(encoders) != 1) or (encoders and categorical[-1] != encoders[0]):
        raise ConfigError(
            f"data.categorical: {list(categorical)} must end with one encoding "
            "(one_hot or ordinal_encode)"
        )
    spec: dict[str, Any] = {
        "version": SPEC_VERSION,
        "schema": schema.as_dict(),
        "numeric": {"columns": num, "steps": fit_block(inputs[:, num], numeric, "numeric")},
        "categorical": {
            "columns": cat,
            "cardinalities": cards,
            "steps": fit_block(inputs[:, cat], categorical, "categorical", cards),
        },
        "target": None,
    }
    if schema.task == "regression":
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(targets.reshape(-1, 1))
        spec["target"] = {"center": float(scaler.mean_[0]), "scale": float(scaler.scale_[0])}
    return spec


class TabularPreprocessor(nn.Module):
    """Encoded rows `(N, C)` -> model features, from a fitted spec.

    `numeric(x)` is the imputed, scaled numeric block; `codes(x)` the categorical codes after
    imputation (what embeddings take); `encode(codes)` their one-hot or ordinal encoding.
    """

    numeric_columns: Tensor
    categorical_columns: Tensor

    def __init__(self, spec: Mapping[str, Any]) -> None:
        super().__init__()
        check_spec(spec)
        self.schema: Schema = schema_from_dict(spec["schema"], "preprocessing.schema")
        self.width = len(self.schema.columns)
        numeric, categorical = spec["numeric"], spec["categorical"]
        self.register_buffer("numeric_columns", torch.tensor(numeric["columns"], dtype=torch.long))
        self.register_buffer(
            "categorical_columns", torch.tensor(categorical["columns"], dtype=torch.long)
        )
        self.cardinalities = [int(c) for c in categorical["cardinalities"]]
        self.numeric_steps = nn.Sequential(*(_step(s, "numeric") for s in numeric["steps"]))
        cat_steps = [_step(s, "categorical") for s in categorical["steps"]]
        self.impute_steps = nn.Sequential(*(s for s in cat_steps if not isinstance(s, Encode)))
        encoders = [s for s in cat_steps if isinstance(s, Encode)]
        self.encoder: Encode | None = encoders[0] if encoders else None

    @property
    def numeric_width(self) -> int:
        return int(self.numeric_columns.numel())

    def encoded_width(self) -> int:
        width = len(self.cardinalities)
        return self.encoder.output_width(width) if self.encoder is not None else width

    def numeric(self, x: Tensor) -> Tensor:
        block = x[:, self.numeric_columns]
        return self.numeric_steps(block) if self.numeric_width else block

    def codes(self, x: Tensor) -> Tensor:
        block = x[:, self.categorical_columns]
        return self.impute_steps(block) if self.cardinalities else block

    def encode(self, codes: Tensor) -> Tensor:
        if self.encoder is None or not self.cardinalities:
            return codes
        return self.encoder(codes)

    def forward(self, x: Tensor) -> Tensor:
        """Every feature the MLP sees (numeric block, then encoded categories)."""
        return torch.cat([self.numeric(x), self.encode(self.codes(x))], dim=1)


def _step(spec: Mapping[str, Any], block: str) -> TabularStep:
    name = spec.get("name") if isinstance(spec, Mapping) else None
    if not isinstance(name, str) or "_target_" in spec:
        raise ConfigError(
            f"preprocessing.{block}: each step is {{name: ..., params}}; got {spec!r}"
        )
    step_class(name, block)
    module = build("transforms", dict(spec), config_key=f"preprocessing.{block}")
    assert isinstance(module, TabularStep)
    return module


def check_spec(spec: Any) -> None:
    """A preprocessing spec has the version, schema and blocks this code reads."""
    if not isinstance(spec, Mapping):
        raise ConfigError(
            "model: preprocessing must be the spec a tabular data module fits "
            f"(data=wine, data=csv, ...); got {type(spec).__name__}"
        )
    missing = [k for k in ("version", "schema", "numeric", "categorical") if k not in spec]
    if missing:
        raise ConfigError(f"model.preprocessing: missing {missing}")
    if spec["version"] != SPEC_VERSION:
        raise ConfigError(f"model.preprocessing: version {spec['version']} is not {SPEC_VERSION}")
