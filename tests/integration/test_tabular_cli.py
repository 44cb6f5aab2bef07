"""accel-tabular through the whole house: `accel train data=wine model=mlp`, its checkpoint
through `accel compress` (dynamic int8, preprocessing inside), `accel analyze-data` of a table.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

Accel = Callable[..., subprocess.CompletedProcess[str]]  # the `accel` fixture (conftest.py)


def metric(stdout: str, name: str) -> float:
    final = [line for line in stdout.splitlines() if f"{name} " in line and "│" in line][-1]
    return float(final.split("│")[2])


@pytest.mark.slow
def test_wine_mlp_trains_then_compresses_to_int8_with_its_preprocessing(
    accel: Accel, tmp_path: Path
) -> None:
    result = accel(["train", "data=wine", "model=mlp"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    accuracy = metric(result.stdout, "test/accuracy")
    print(f"accel train data=wine model=mlp: test accuracy {accuracy:.4f}")
    assert accuracy >= 0.95
    [run_dir] = [p for p in (tmp_path / "runs").glob("*/*") if p.is_dir()]
    manifest = sorted((run_dir / "checkpoints").glob("*/manifest.json"))[-1]
    spec = json.loads(manifest.read_text())["model"]["spec"]
    assert spec["preprocessing"]["schema"]["target"]["categories"] == [
        "class_0", "class_1", "class_2"
    ]  # fmt: skip
    out = tmp_path / "int8"
    squeezed = accel(
        ["compress", "run", str(run_dir / "checkpoints" / "last"), "--quantize", "int8-dynamic",
         "--eval-data", "wine", "--export", "onnx", "-o", str(out), "-q"],
        cwd=tmp_path,
    )  # fmt: skip
    assert squeezed.returncode == 0, squeezed.stdout[-2000:] + squeezed.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    text = json.dumps(report)
    assert (out / "model.onnx").is_file()
    assert "accuracy" in text


@pytest.mark.slow
def test_analyze_data_writes_schema_statistics_and_histograms(accel: Accel, tmp_path: Path) -> None:
    result = accel(["analyze-data", "data=diabetes"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    [run_dir] = [p for p in (tmp_path / "runs").glob("*/*") if p.is_dir()]
    stats = json.loads((run_dir / "data_analysis.json").read_text())
    assert stats["task"] == "regression"
    assert len(stats["columns"]) == 10
    assert stats["files"] == ["schema.yaml", "histograms.png"]
    schema = yaml.safe_load((run_dir / "schema.yaml").read_text())
    assert [c["name"] for c in schema["columns"]][:3] == ["age", "sex", "bmi"]
    assert (run_dir / "histograms.png").read_bytes()[:4] == b"\x89PNG"
    assert "bmi" in result.stdout
