"""The README tour's int8 digits model behind `accel serve`: train, compress, serve, ask.

One short training run and two compressions (ONNX Runtime int8, OpenVINO int8), made once for
this module; then a real server (`accel serve out/`, uvicorn on 127.0.0.1) and a real HTTP client.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, accel_session) -> Path:
    """`accel train` (4 epochs) into run/ of a fresh folder."""
    work = tmp_path_factory.mktemp("tour")
    train = accel_session(["train", "trainer.max_epochs=4", "trainer.run_dir=run"], work)
    assert train.returncode == 0, train.stderr[-2000:]
    return work


@pytest.fixture(scope="module")
def int8_digits(trained: Path, accel_session) -> Path:
    """`accel compress ... --quantize int8` of the trained run into out/."""
    work = trained
    compress = accel_session(
        ["compress", "run/checkpoints/last", "--quantize", "int8", "--calib-data", "digits",
         "--eval-data", "digits", "--max-drop", "1", "-o", "out", "-q", "--repeats", "2"],
        work,
    )  # fmt: skip
    assert compress.returncode == 0, compress.stderr[-2000:]
    return work / "out"


@pytest.fixture(scope="module")
def served(int8_digits: Path, serve) -> Iterator[str]:
    with serve([str(int8_digits)], int8_digits.parent) as url:
        yield url


@pytest.fixture(scope="module")
def openvino_digits(trained: Path, accel_session) -> Path:
    """The same run through OpenVINO + NNCF int8 into ov/ (`--force`: at 8x8 pixels int8 may
    be no faster than float, and the speed gate would drop it)."""
    compress = accel_session(
        ["compress", "run/checkpoints/last", "--quantize", "int8", "--backend", "openvino",
         "--calib-data", "digits", "--force", "-o", "ov", "-q", "--repeats", "2"],
        trained,
    )  # fmt: skip
    assert compress.returncode == 0, compress.stderr[-2000:]
    return trained / "ov"


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


def test_serve_runs_the_openvino_int8_digits(openvino_digits: Path, serve) -> None:
    from sklearn.datasets import load_digits

    assert (openvino_digits / "model.xml").is_file()
    digits = load_digits()
    picks = list(range(0, 1797, 60))
    x = (digits.images[picks] / 16.0).astype(np.float32)[:, None]
    with (
        serve([str(openvino_digits)], openvino_digits.parent) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        meta = client.get("/v2/models/ov").json()
        assert meta["platform"] == "openvino"
        (spec,) = meta["inputs"]
        assert spec["shape"] == [-1, 1, 8, 8]
        body = {"inputs": [{"name": spec["name"], "datatype": "FP32",
                            "shape": list(x.shape), "data": x.ravel().tolist()}]}  # fmt: skip
        infer = client.post("/v2/models/ov/infer", json=body).json()
        files = {"image": ("digit.png", digit_png(digits.images[picks[1]]), "image/png")}
        answer = client.post("/predict", files=files).json()
    logits = np.array(infer["outputs"][0]["data"]).reshape(len(x), 10)
    assert (logits.argmax(1) == digits.target[picks]).mean() >= 0.9
    assert answer["predictions"][0]["index"] == int(logits[1].argmax())
