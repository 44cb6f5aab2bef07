"""Datasets registered in `accel.datasets`: `csv` (a file of yours) and scikit-learn's
embedded tables, which need no download: `wine`, `breast_cancer`, `iris` (classification)
and `diabetes` (regression)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from accel.tabular.datamodule import TabularDataModule, from_table
from accel.tabular.preprocessing import CATEGORICAL_STEPS, NUMERIC_STEPS
from accel.tabular.table import read_csv, sklearn_table


def csv(
    path: str | Path,
    target: str,
    column_types: Mapping[str, str] | None = None,
    task: str | None = None,
    schema: str | Path | None = None,
    invalid_rows: str | None = None,
    delimiter: str = ",",
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
    numeric: Sequence[str] = NUMERIC_STEPS,
    categorical: Sequence[str] = CATEGORICAL_STEPS,
    batch_size: int = 64,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
) -> TabularDataModule:
    """A CSV file with a header row; `target` names the column to predict.

    `column_types` fixes kinds (`{zip: categorical}`), `task` the target's (classification or
    regression; default: text targets are classes, numbers are regression), `schema` a schema
    file (or a checkpoint) to use instead of inferring one, `invalid_rows` (error or drop)
    overrides the schema's policy for rows that break it.
    """
    return from_table(
        read_csv(path, delimiter=delimiter),
        target,
        schema=schema,
        column_types=column_types,
        task=task,
        invalid_rows=invalid_rows,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        numeric=numeric,
        categorical=categorical,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        num_workers=num_workers,
    )


def _embedded(
    name: str,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    numeric: Sequence[str],
    batch_size: int,
    eval_batch_size: int | None,
    num_workers: int,
) -> TabularDataModule:
    table, target = sklearn_table(name)
    return from_table(
        table,
        target,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        numeric=numeric,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        num_workers=num_workers,
    )


def wine(
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
    numeric: Sequence[str] = NUMERIC_STEPS,
    batch_size: int = 16,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
) -> TabularDataModule:
    """178 wines, 13 chemical measurements, 3 cultivars (classification)."""
    return _embedded("wine", **locals())


def breast_cancer(
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
    numeric: Sequence[str] = NUMERIC_STEPS,
    batch_size: int = 32,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
) -> TabularDataModule:
    """569 tumours, 30 cell-nucleus measurements, malignant or benign (classification)."""
    return _embedded("breast_cancer", **locals())


def iris(
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
    numeric: Sequence[str] = NUMERIC_STEPS,
    batch_size: int = 16,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
) -> TabularDataModule:
    """150 irises, 4 measurements, 3 species (classification)."""
    return _embedded("iris", **locals())


def diabetes(
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
    numeric: Sequence[str] = NUMERIC_STEPS,
    batch_size: int = 32,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
) -> TabularDataModule:
    """442 patients, 10 measurements, disease progression after a year (regression)."""
    return _embedded("diabetes", **locals())
