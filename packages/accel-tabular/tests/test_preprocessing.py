"""The fitted preprocessing is scikit-learn's, to float precision, and travels as a spec."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, RobustScaler, StandardScaler

from accel.core.errors import ConfigError
from accel.tabular.encode import encode_rows
from accel.tabular.infer import infer_schema
from accel.tabular.preprocessing import TabularPreprocessor, fit_preprocessing
from accel.tabular.table import Table
from accel.tabular.transforms import OneHot, StandardScale


def mixed_table(rows: int = 60, seed: int = 0) -> Table:
    rng = np.random.default_rng(seed)
    size = [("" if i % 7 == 0 else f"{v:.4f}") for i, v in enumerate(rng.normal(5, 2, rows))]
    colour = [("" if i % 9 == 0 else c) for i, c in enumerate(rng.choice(["r", "g", "b"], rows))]
    return Table({"size": size, "colour": colour, "y": list(rng.choice(["a", "b"], rows))}, "t")


@pytest.mark.parametrize(("scale", "scaler"), [("standard_scale", StandardScaler),
                                               ("robust_scale", RobustScaler)])  # fmt: skip
def test_preprocessor_matches_scikit_learn_on_new_rows(scale: str, scaler: type) -> None:
    table = mixed_table()
    train, new = np.arange(40), np.arange(40, 60)
    schema = infer_schema(table, "y", train)
    fitted = encode_rows(table, schema, train)
    assert fitted.targets is not None
    spec = fit_preprocessing(
        fitted.inputs, fitted.targets, schema, numeric=["median_impute", scale]
    )
    preprocessor = TabularPreprocessor(json.loads(json.dumps(spec)))  # as stored: plain JSON
    rows = encode_rows(table, schema, new)
    got = preprocessor(torch.from_numpy(rows.inputs)).numpy()

    size_imputer = SimpleImputer(strategy="median").fit(fitted.inputs[:, :1])
    size_scaler = scaler().fit(size_imputer.transform(fitted.inputs[:, :1]))
    want_size = size_scaler.transform(size_imputer.transform(rows.inputs[:, :1]))
    colour_imputer = SimpleImputer(strategy="most_frequent").fit(fitted.inputs[:, 1:])
    encoder = OneHotEncoder(categories=[[0.0, 1.0, 2.0]], sparse_output=False)
    want_colour = encoder.fit(colour_imputer.transform(fitted.inputs[:, 1:])).transform(
        colour_imputer.transform(rows.inputs[:, 1:])
    )
    np.testing.assert_allclose(got[:, :1], want_size, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got[:, 1:], want_colour)


def test_one_hot_of_an_unknown_category_is_all_zeros() -> None:
    encode = OneHot(cardinalities=[3, 2])
    codes = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    assert encode(codes).tolist() == [[1, 0, 0, 0, 1], [0, 0, 0, 1, 0]]


def test_an_unfitted_step_refuses_to_run() -> None:
    with pytest.raises(ConfigError, match="not fitted"):
        StandardScale()(torch.ones(2, 3))
    with pytest.raises(ConfigError, match="fitted on 2 columns, got 3"):
        StandardScale(center=[0, 0], scale=[1, 1])(torch.ones(2, 3))


def test_a_categorical_block_must_end_with_one_encoding() -> None:
    table = mixed_table()
    schema = infer_schema(table, "y", np.arange(40))
    fitted = encode_rows(table, schema, np.arange(40))
    assert fitted.targets is not None
    with pytest.raises(ConfigError, match="must end with one encoding"):
        fit_preprocessing(fitted.inputs, fitted.targets, schema, categorical=["mode_impute"])
    with pytest.raises(ConfigError, match="not a tabular preprocessing step"):
        fit_preprocessing(fitted.inputs, fitted.targets, schema, numeric=["compose"])
