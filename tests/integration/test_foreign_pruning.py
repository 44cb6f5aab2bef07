"""`--prune 0.5 --quantize int8` on foreign CNNs (a state dict with `--arch`, random weights):
torchvision's ResNet-18 (residual adds), MobileNetV3 and EfficientNet (depthwise convs,
squeeze-excitation) and timm's MobileNetV3. Pruning goes through every family; without
training data the pruned model cannot agree with the original, so the result is refused in
one line naming `--train-data` (the gate of every step), and `--force` writes it with the
error in the summary. Its own file, so that it runs beside the foreign-model matrix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_foreign_models import CALIB_N, accel, photos, timm_model, torchvision_model
from test_foreign_models import quick_timings as quick_timings  # autouse: short timings

CNNS = [
    ("torchvision:resnet18", torchvision_model("resnet18")),
    ("torchvision:mobilenet_v3_small", torchvision_model("mobilenet_v3_small")),
    ("torchvision:efficientnet_b0", torchvision_model("efficientnet_b0")),
    ("timm:mobilenetv3_small_100", timm_model("mobilenetv3_small_100")),
]


@pytest.mark.parametrize(("arch", "build"), CNNS, ids=[arch for arch, _ in CNNS])
def test_a_pruned_foreign_cnn_is_refused_without_training_data(
    arch: str, build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    model = build()
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    np.save(tmp_path / "calib.npy", photos(CALIB_N, seed=0)[0].numpy())
    argv = ["compress", str(tmp_path / "weights.pt"), "--arch", f"{arch},num_classes=10"]
    argv += ["--prune", "0.5", "--quantize", "int8", "--calib-data", str(tmp_path / "calib.npy")]
    argv += ["--repeats", "1", "-q", "-o", str(tmp_path / "out")]
    rc, output = accel(argv)
    assert rc != 0
    assert output.strip().count("\n") == 0, output  # one line, no traceback
    assert "not fine-tuned: pass --train-data" in output
    assert not (tmp_path / "out").exists()  # nothing written where the result would go
    report = json.loads((tmp_path / "out.rejected" / "report.json").read_text())
    params = {s["name"]: s["analysis"]["params"] for s in report["steps"] if s.get("analysis")}
    assert params["prune"] < 0.4 * params["original"]  # every family pruned, not skipped

    rc, output = accel([*argv, "--force"])
    assert rc == 0, output
    outputs = json.loads((tmp_path / "out" / "report.json").read_text())["outputs"]
    written = outputs.get("onnx") or outputs.get("openvino")  # the int8 candidate chosen
    assert written in ("model.onnx", "model.xml"), outputs
    assert (tmp_path / "out" / written).is_file()
    assert "output error" in output.strip().splitlines()[-1]
