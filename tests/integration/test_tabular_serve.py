"""A tabular model behind `accel serve`: `accel train data=wine model=mlp`, then its checkpoint
and its `accel compress` ONNX folder served side by side (real uvicorn, real HTTP); JSON rows
of raw values posted to `/predict` give the predictions of the checkpoint run in process on
the same rows encoded by accel-core's records (the columns travel in both files).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.slow


def run_accel(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m accel.cli ARGS` in `cwd` (as conftest's `accel` fixture, module-scoped here)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR")}
    command = [sys.executable, "-m", "accel.cli", *args]
    return subprocess.run(command, cwd=cwd, env=clean, capture_output=True, text=True, timeout=600)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def wine_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short `accel train data=wine model=mlp`, then `accel compress --export onnx`."""
    work = tmp_path_factory.mktemp("wine")
    train = run_accel(
        ["train", "data=wine", "model=mlp", "trainer.max_epochs=3", "trainer.run_dir=run"], work
    )
    assert train.returncode == 0, train.stderr[-2000:]
    compress = run_accel(
        ["compress", "run/checkpoints/last", "--export", "onnx", "-o", "out", "-q",
         "--repeats", "2"],
        work,
    )  # fmt: skip
    assert compress.returncode == 0, compress.stdout[-2000:] + compress.stderr[-2000:]
    return work


@pytest.fixture(scope="module")
def served(wine_model: Path) -> Iterator[str]:
    port = free_port()
    log = (wine_model / "serve.log").open("wb")
    command = [sys.executable, "-m", "accel.cli", "serve", "ckpt=run/checkpoints/last",
               "out", "--port", str(port), "--no-access-log"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "ACCEL_SERVE_TOKEN"}
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=wine_model
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, (wine_model / "serve.log").read_text()[-2000:]
            try:
                if httpx.get(url + "/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError((wine_model / "serve.log").read_text()[-2000:])
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


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
