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


def write_fruit(path: Path, colours: list[str], rows: int, seed: int) -> Path:
    """`size`, `colour`, `label` (yes when red or large): the colour decides most labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lines = ["size,colour,label"]
    for _ in range(rows):
        size, colour = rng.normal(10, 2), colours[int(rng.integers(len(colours)))]
        label = "yes" if colour == "red" or size > 13 else "no"
        lines.append(f"{size:.3f},{colour},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_accel_test_on_another_csv_takes_the_schema_from_the_checkpoint(
    accel: Accel, tmp_path: Path
) -> None:
    write_fruit(tmp_path / "train.csv", ["blue", "green", "red"], 400, seed=0)
    write_fruit(tmp_path / "new.csv", ["blue", "red"], 200, seed=1)  # no green: red is 2nd
    data = ["data=csv", "data.target=label"]
    trained = accel(["train", *data, "data.path=train.csv", "model=mlp",
                     "trainer.max_epochs=4", "trainer.run_dir=run"], cwd=tmp_path)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    ckpt = str(tmp_path / "run" / "checkpoints" / "last")
    args = ["test", f"ckpt={ckpt}", *data, "data.path=new.csv"]
    tested = accel([*args, "trainer.run_dir=test"], cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr[-2000:]
    config = yaml.safe_load((tmp_path / "test" / "config.yaml").read_text())
    assert config["data"]["schema"] == ckpt  # taken from the checkpoint by itself
    accuracy = metric(tested.stdout, "test/accuracy")
    inferred = accel([*args, "data.schema=null", "trainer.run_dir=inferred"], cwd=tmp_path)
    assert inferred.returncode == 0, inferred.stderr[-2000:]
    wrong = metric(inferred.stdout, "test/accuracy")  # red coded as green: what was broken
    print(f"new.csv test accuracy: checkpoint schema {accuracy:.3f}, inferred again {wrong:.3f}")
    assert accuracy >= 0.9
    assert accuracy - wrong >= 0.2


@pytest.mark.slow
def test_diabetes_config_chooses_regression_loss_metrics_and_optimizer(
    accel: Accel, tmp_path: Path
) -> None:
    result = accel(["train", "data=diabetes", "model=mlp", "trainer.run_dir=run"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["loss"]["name"] == "mse"
    assert config["optimizer"]["name"] == "adamw"
    assert config["metrics"] == ["r2", "mse", "mae"]
    assert (config["model"]["norm"], config["model"]["dropout"]) == ("none", 0.0)
    r2 = metric(result.stdout, "test/r2")
    print(f"accel train data=diabetes model=mlp: test R² {r2:.4f}")
    assert r2 >= 0.40
