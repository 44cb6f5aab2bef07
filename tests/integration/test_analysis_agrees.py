"""`accel analyze-model` and `accel compress analyze` on the same checkpoint report the same
MACs, parameters and size: both measure through accel-core's analysis (they once disagreed by
1.5% on MACs, two counters counting different ops)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from accel.cli.main import run
from accel.core.checkpoint import save_checkpoint
from accel.core.registry import build

# resnet20 for 1x8x8 digits: a 3x3 stem conv to 16 channels at 8x8; 6 3x3 convs 16 -> 16 at
# 8x8; per later stage (32 channels at 4x4, 64 at 2x2) a strided conv, 5 convs and a 1x1
# shortcut of the same MACs as a 16-channel stage's (147,456 each); fc 64 -> 10
STAGE = 147_456 // 2 + 5 * 147_456 + 8_192
RESNET20_MACS = 16 * 64 * 9 + 6 * 147_456 + 2 * STAGE + 640  # = 2,532,992
RESNET20_PARAMS = 272_186
# fp32 weights, the running mean and variance of 784 BatchNorm channels, 21 int64 step counts
RESNET20_SIZE = (RESNET20_PARAMS + 2 * 784) * 4 + 21 * 8


def accel(argv: list[str]) -> None:
    """`accel ARGV` in this process; fails the test on a non-zero exit."""
    with pytest.raises(SystemExit) as info:
        run(argv)
    assert not info.value.code, argv


@pytest.fixture
def checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A resnet20 checkpoint (accel-cv model, digits data) in a fresh working folder."""
    monkeypatch.chdir(tmp_path)
    for name in ("ACCEL_CONFIGS", "ACCEL_RUN_DIR"):  # a run dir of its own, not a parent's
        monkeypatch.delenv(name, raising=False)
    config = {
        "model": {"name": "resnet20", "in_channels": 1, "num_classes": 10},
        "data": {"name": "digits", "batch_size": 64},
    }
    model = build("models", config["model"]).eval()
    save_checkpoint(tmp_path / "ckpt", "last-epoch", {"model": model.state_dict()}, config=config)
    return tmp_path / "ckpt" / "last-epoch"


def test_both_commands_print_the_same_macs_params_and_size(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accel(["analyze-model", f"ckpt={checkpoint}", "--runs", "1", "--layers", "0"])
    printed = capsys.readouterr().out
    [analysis_file] = (tmp_path / "runs").glob("*/*/model_analysis.json")
    model = json.loads(analysis_file.read_text())
    accel(["compress", "analyze", str(checkpoint), "--repeats", "1", "-o", "compress.json"])
    compress = json.loads((tmp_path / "compress.json").read_text())
    written = {k: v for k, v in compress.items() if k != "format"}
    assert json.loads(capsys.readouterr().out) == written  # what it printed is what it wrote

    assert model["input_shape"] == [1, 1, 8, 8]
    assert model["macs"] == compress["macs"] == RESNET20_MACS
    assert model["params"] == compress["params"] == RESNET20_PARAMS
    assert model["size_bytes"] == compress["size_bytes"]
    assert model["size_bytes"] == RESNET20_SIZE
    assert row(printed, "MACs") == f"{RESNET20_MACS:,}"
    assert row(printed, "parameters") == f"{RESNET20_PARAMS:,}"
    assert row(printed, r"size \(MB, fp32 weights\)") == f"{compress['size_bytes'] / 2**20:.3f}"


def row(table: str, label: str) -> str:
    """The value in the printed summary row `label`."""
    match = re.search(rf"{label}\W+([\d.,]+)", table)
    assert match, (label, table)
    return match.group(1)
