"""The README tour's int8 digits model behind `accel serve`: train, compress, serve, ask.

One short training run and one compression, made once for this module; then a real server
(`accel serve out/`, uvicorn on 127.0.0.1) and a real HTTP client.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

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
def int8_digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`accel train` (4 epochs) then `accel compress ... --quantize int8` into out/."""
    work = tmp_path_factory.mktemp("tour")
    train = run_accel(["train", "trainer.max_epochs=4", "trainer.run_dir=run"], work)
    assert train.returncode == 0, train.stderr[-2000:]
    compress = run_accel(
        ["compress", "run/checkpoints/last", "--quantize", "int8", "--calib-data", "digits",
         "--eval-data", "digits", "--max-drop", "1", "-o", "out", "-q", "--repeats", "2"],
        work,
    )  # fmt: skip
    assert compress.returncode == 0, compress.stderr[-2000:]
    return work / "out"


@pytest.fixture(scope="module")
def served(int8_digits: Path) -> Iterator[str]:
    port = free_port()
    log = (int8_digits.parent / "serve.log").open("wb")
    command = [sys.executable, "-m", "accel.cli", "serve", str(int8_digits), "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "ACCEL_SERVE_TOKEN"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        assert process.poll() is None, (int8_digits.parent / "serve.log").read_text()
        try:
            if httpx.get(url + "/v2/health/ready").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    yield url
    process.terminate()
    assert process.wait(timeout=30) == 0


def digit_png(image: np.ndarray) -> bytes:
    """A digit from scikit-learn's data (0..16) as an 8-bit grayscale PNG."""
    buffer = io.BytesIO()
    Image.fromarray((image * 255 / 16).round().astype(np.uint8), "L").save(buffer, "PNG")
    return buffer.getvalue()


def test_serve_answers_ready_infer_and_predict_on_the_int8_digits(served: str) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    picks = range(0, 1797, 60)  # 30 digits across the data set
    with httpx.Client(base_url=served, timeout=30) as client:
        assert client.get("/v2/health/ready").json() == {"ready": True}
        meta = client.get("/v2/models/out").json()
        (spec,) = meta["inputs"]
        assert spec["shape"] == [-1, 1, 8, 8]
        x = (digits.images[list(picks)] / 16.0).astype(np.float32)[:, None]
        body = {"inputs": [{"name": spec["name"], "datatype": "FP32",
                            "shape": list(x.shape), "data": x.ravel().tolist()}]}  # fmt: skip
        infer = client.post("/v2/models/out/infer", json=body).json()
        logits = np.array(infer["outputs"][0]["data"]).reshape(len(x), 10)
        guesses = []
        for i in picks:
            files = {"image": ("digit.png", digit_png(digits.images[i]), "image/png")}
            answer = client.post("/predict", files=files).json()
            guesses.append(answer["predictions"][0]["index"])
    truth = digits.target[list(picks)]
    assert (logits.argmax(1) == truth).mean() >= 0.9
    assert (np.array(guesses) == truth).mean() >= 0.9
    assert guesses == logits.argmax(1).tolist()  # /predict preprocesses as training did
