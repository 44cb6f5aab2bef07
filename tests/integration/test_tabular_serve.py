"""A tabular model behind `accel serve`: `accel train data=wine model=mlp`, then its checkpoint
and its `accel compress` ONNX folder served side by side (real uvicorn, real HTTP); JSON rows
of raw values posted to `/predict` give the predictions of the checkpoint run in process on
the same rows encoded by accel-core's records (the columns travel in both files).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wine_model(tmp_path_factory: pytest.TempPathFactory, accel_session) -> Path:
    """A short `accel train data=wine model=mlp`, then `accel compress --export onnx`."""
    work = tmp_path_factory.mktemp("wine")
    train = accel_session(
        ["train", "data=wine", "model=mlp", "trainer.max_epochs=3", "trainer.run_dir=run"], work
    )
    assert train.returncode == 0, train.stderr[-2000:]
    compress = accel_session(
        ["compress", "run/checkpoints/last", "--export", "onnx", "-o", "out", "-q",
         "--repeats", "2"],
        work,
    )  # fmt: skip
    assert compress.returncode == 0, compress.stdout[-2000:] + compress.stderr[-2000:]
    return work


@pytest.fixture(scope="module")
def served(wine_model: Path, serve) -> Iterator[str]:
    args = ["ckpt=run/checkpoints/last", "out", "--no-access-log"]
    with serve(args, wine_model) as url:
        yield url


def raw_rows(count: int) -> list[dict[str, Any]]:
    """Wine rows as a JSON request holds them: raw measurements keyed by column name."""
    from sklearn.datasets import load_wine

    wines = load_wine()
    picks = np.linspace(0, len(wines.data) - 1, count).astype(int)
    return [dict(zip(wines.feature_names, map(float, wines.data[i]), strict=True)) for i in picks]


def test_served_checkpoint_and_compressed_folder_predict_as_the_checkpoint(
    wine_model: Path, served: str
) -> None:
    import torch

    from accel.core.checkpoint import rebuild_model
    from accel.core.records import encode_records

    columns = json.loads((wine_model / "out" / "columns.json").read_text())
    assert [c["name"] for c in columns["columns"]][:2] == ["alcohol", "malic_acid"]
    rows = raw_rows(12)
    model = rebuild_model(wine_model / "run" / "checkpoints" / "last").eval()
    assert model.input_columns() == columns  # the checkpoint and the folder agree
    with torch.no_grad():
        probs = torch.softmax(model(encode_records(rows, model.input_columns())), 1).numpy()
    labels = columns["output"]["classes"]
    for name in ("ckpt", "out"):
        answer = httpx.post(f"{served}/predict?model={name}&top_k=3", json={"rows": rows})
        assert answer.status_code == 200, answer.text
        found = answer.json()["predictions"]
        assert [row[0]["label"] for row in found] == [labels[i] for i in probs.argmax(1)]
        scores = np.array([[p["score"] for p in sorted(row, key=lambda p: p["index"])]
                           for row in found])  # fmt: skip
        np.testing.assert_allclose(scores, probs, atol=1e-4)
    bad = httpx.post(f"{served}/predict?model=out", json={"rows": [{**rows[0], "alcohol": "x"}]})
    assert bad.status_code == 422
    assert "row 1, column 'alcohol': 'x' is not a number" in bad.json()["error"]
