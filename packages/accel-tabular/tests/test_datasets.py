"""Data modules: seeded stratified splits, schema checks at the boundary, real training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from accel.core.errors import ConfigError
from accel.core.runtime import Trainer, seed_everything
from accel.tabular.datasets import csv, iris, wine
from accel.tabular.models import mlp
from accel.tabular.schema import load_schema, save_schema


def test_splits_are_seeded_stratified_and_disjoint() -> None:
    data, again, other = wine(seed=0), wine(seed=0), wine(seed=1)
    rows = {k: set(v.rows.tolist()) for k, v in data.splits.items()}
    assert sum(len(r) for r in rows.values()) == 178
    assert not (rows["train"] & rows["test"])
    assert not (rows["val"] & rows["test"])
    assert np.array_equal(data.splits["test"].rows, again.splits["test"].rows)
    assert not np.array_equal(data.splits["test"].rows, other.splits["test"].rows)
    shares = np.bincount(data.splits["test"].targets.astype(int)) / len(rows["test"])
    assert np.allclose(shares, [59 / 178, 71 / 178, 48 / 178], atol=0.05)
    assert data.num_classes == 3
    assert data.input_shape == (13,)


def test_a_bad_row_stops_the_csv_naming_row_and_column_unless_dropped(table_csv: Path) -> None:
    with pytest.raises(ConfigError, match=r"row 8 \(line 9\), column 'size': 'huge'"):
        csv(table_csv, target="label")
    with pytest.warns(UserWarning, match=r"left out 1 of \d+ \w+ rows .* row 8 \(line 9\)"):
        data = csv(table_csv, target="label", invalid_rows="drop")
    assert sum(len(s.rows) for s in data.splits.values()) == 239


def test_an_edited_schema_file_is_used_instead_of_inferring(
    table_csv: Path, tmp_path: Path
) -> None:
    with pytest.warns(UserWarning, match="left out 1"):
        data = csv(table_csv, target="label", invalid_rows="drop")
    path = save_schema(data.schema, tmp_path / "schema.yaml")
    text = path.read_text().replace("invalid_rows: error", "invalid_rows: drop")
    path.write_text(text.replace("kind: boolean", "kind: categorical, categories: [false, true]"))
    with pytest.warns(UserWarning, match="left out"):
        edited = csv(table_csv, target="label", schema=path)
    assert edited.schema == load_schema(path)
    assert edited.schema.columns[2].kind == "categorical"


@pytest.mark.slow
def test_training_on_the_rest_of_a_csv_with_a_bad_row_learns(table_csv: Path) -> None:
    with pytest.warns(UserWarning, match="left out 1"):
        data = csv(table_csv, target="label", invalid_rows="drop", batch_size=16)
    seed_everything(0)
    assert data.num_classes is not None
    model = mlp(num_classes=data.num_classes, **data.model_arguments())
    trainer = Trainer(max_epochs=12, run_dir=None, seed=0, default_callbacks=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=optimizer,
        loss="cross_entropy",
    )
    result = trainer.test(model, data.test_dataloader(), metrics=["accuracy"])
    assert result["test/accuracy"] >= 0.8  # a label of size and colour, some missing


def test_statistics_and_analysis_files(tmp_path: Path) -> None:
    data = iris()
    stats = data.statistics()
    assert stats["splits"]["train"]["count"] == len(data.splits["train"].rows)
    assert [c["kind"] for c in stats["columns"]] == ["numeric"] * 4
    assert stats["tables"][0]["rows"][0][0] == "sepal length (cm)"
    files = data.write_analysis(tmp_path)
    assert [f.name for f in files] == ["schema.yaml", "histograms.png"]
    assert files[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_schema(files[0]) == data.schema
