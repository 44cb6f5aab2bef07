"""The data module every accel-tabular dataset returns, and how one is made from a table:
split, schema (inferred from the training rows or read from a file), checked and encoded
rows, preprocessing fitted on the training rows only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from accel.core.errors import ConfigError
from accel.core.records import is_missing, to_number
from accel.tabular.encode import Encoded, apply_policy, encode_rows
from accel.tabular.infer import guess_kind, infer_schema
from accel.tabular.preprocessing import CATEGORICAL_STEPS, NUMERIC_STEPS, fit_preprocessing
from accel.tabular.schema import Schema, load_schema
from accel.tabular.split import split_rows, target_bins
from accel.tabular.table import Table

SPLITS = ("train", "val", "test")


class TabularDataModule:
    """Train/val/test loaders of encoded rows `(N, C)` float32 and targets (class indices,
    int64, or numbers, float32), with the schema and the fitted preprocessing.

    `model_arguments()` is what a model built for this data must know (the preprocessing
    spec), `num_classes` (None for regression) and `input_shape` `(C,)` what every accel
    model reads; `statistics()` and `write_analysis(folder)` serve `accel analyze-data`.
    """

    def __init__(
        self,
        *,
        splits: Mapping[str, Encoded],
        schema: Schema,
        preprocessing: Mapping[str, Any],
        table: Table,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"data: batch_size must be >= 1, got {batch_size}")
        if num_workers < 0:
            raise ConfigError(f"data: num_workers must be >= 0, got {num_workers}")
        self.splits = dict(splits)
        self.schema = schema
        self.preprocessing = dict(preprocessing)
        self.table = table
        self.task = schema.task
        self.class_names = schema.classes if self.task == "classification" else []
        self.num_classes = len(self.class_names) if self.task == "classification" else None
        self.input_shape = (len(schema.columns),)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.seed = seed

    def __repr__(self) -> str:
        sizes = {k: len(v.rows) for k, v in self.splits.items()}
        return f"{type(self).__name__}(task={self.task}, columns={self.input_shape[0]}, {sizes})"

    def model_arguments(self) -> dict[str, Any]:
        """Keyword arguments for the model: the fitted preprocessing (plain data)."""
        return {"preprocessing": self.preprocessing}

    def tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor] | None:
        """A split's `(inputs, targets)`, or None when it holds no rows."""
        encoded = self.splits.get(split)
        if encoded is None or len(encoded.rows) == 0:
            return None
        dtype = torch.long if self.task == "classification" else torch.float32
        assert encoded.targets is not None
        return torch.from_numpy(encoded.inputs), torch.as_tensor(encoded.targets, dtype=dtype)

    def _loader(self, split: str, train: bool) -> DataLoader[Any] | None:
        tensors = self.tensors(split)
        if tensors is None:
            return None
        return DataLoader(
            TensorDataset(*tensors),
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            num_workers=self.num_workers,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader[Any] | None:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader[Any] | None:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader[Any] | None:
        return self._loader("test", train=False)

    def statistics(self, max_samples: int | None = None) -> dict[str, Any]:
        """Rows per split, class balance or target spread, per-column statistics."""
        from accel.tabular.analysis import statistics

        return statistics(self, max_samples)

    def write_analysis(self, folder: str | Path) -> list[Path]:
        """Write `schema.yaml` and a histogram grid `histograms.png` into `folder`."""
        from accel.tabular.analysis import write_analysis

        return write_analysis(self, Path(folder))


def from_table(
    table: Table,
    target: str,
    *,
    schema: str | Path | None = None,
    column_types: Mapping[str, str] | None = None,
    task: str | None = None,
    invalid_rows: str | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
    numeric: Sequence[str] = NUMERIC_STEPS,
    categorical: Sequence[str] = CATEGORICAL_STEPS,
    batch_size: int = 64,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
) -> TabularDataModule:
    """Split `table`, get its schema, check and encode every split, fit the preprocessing."""
    if target not in table.columns:
        raise ConfigError(
            f"data.target: no column {target!r} in {table.source}; columns: {table.names}"
        )
    labels = stratify_labels(table.columns[target], task)
    rows = split_rows(len(table), labels, val_fraction, test_fraction, seed)
    if schema is not None:
        found = load_schema(schema)
    else:
        found = infer_schema(table, target, rows["train"], kinds=column_types, task=task)
    found = found.with_invalid_rows(invalid_rows)
    if found.target.name != target:
        raise ConfigError(
            f"data.target is {target!r} but the schema's target is {found.target.name!r}"
        )
    encoded = {
        split: apply_policy(encode_rows(table, found, rows[split]), table, found, split)
        for split in SPLITS
    }
    train = encoded["train"]
    if len(train.rows) == 0:
        raise ConfigError(f"{table.source}: no training row is left after the schema checks")
    assert train.targets is not None
    spec = fit_preprocessing(
        train.inputs, train.targets, found, numeric=numeric, categorical=categorical
    )
    return TabularDataModule(
        splits=encoded,
        schema=found,
        preprocessing=spec,
        table=table,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        num_workers=num_workers,
        seed=seed,
    )


def stratify_labels(column: Sequence[Any], task: str | None) -> list[str]:
    """The labels to stratify the split by: the target as text (classification) or its
    decile (regression)."""
    present = [v for v in column if not is_missing(v)]
    classification = task == "classification" or (
        task is None and bool(present) and guess_kind(present) != "numeric"
    )
    if not classification:
        return target_bins([None if is_missing(v) else to_number(v) for v in column])
    return ["" if is_missing(v) else str(v).strip() for v in column]
