"""`accel compress` and `accel compress analyze`, run through the typer app this package ships."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from compress_models import TinyResNet
from typer.testing import CliRunner

from accel.compress.cli import app
from accel.core.registry import registry

runner = CliRunner()


@pytest.fixture
def files(resnet, digits, tmp_path: Path) -> dict[str, Path]:
    """The trained model as a state dict (+ registered arch), calibration and eval files."""
    registry("models").add("test_cli_resnet", TinyResNet, override=True)
    torch.save(resnet.state_dict(), tmp_path / "model.pt")
    np.save(tmp_path / "calib.npy", torch.cat(digits.calib).numpy())
    np.savez(tmp_path / "eval.npz", x=digits.x_test.numpy(), y=digits.y_test.numpy())
    yield {
        "model": tmp_path / "model.pt",
        "calib": tmp_path / "calib.npy",
        "eval": tmp_path / "eval.npz",
        "dir": tmp_path,
    }
    registry("models")._local.pop("test_cli_resnet", None)
    registry("models")._loaded.pop("test_cli_resnet", None)


def invoke(*args: object) -> object:
    return runner.invoke(app, [str(a) for a in args])


def test_compress_int8_with_calibration_and_eval_data(files) -> None:
    out = files["dir"] / "out"
    result = invoke(
        files["model"],
        "--arch",
        "test_cli_resnet",
        "--quantize",
        "int8",
        "--calib-data",
        files["calib"],
        "--eval-data",
        files["eval"],
        "--max-drop",
        "0.5",
        "--force",
        "--repeats",
        "3",
        "-q",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "x smaller" in result.output
    assert "accuracy" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["final"]["name"] == "quantize"
    assert report["steps"][0]["accuracy"] - report["final"]["accuracy"] <= 0.5
    assert (out / "model.onnx").is_file()
    assert (out / "recipe.json").is_file()


def test_torch_export_program_to_int8_onnx(resnet, files) -> None:
    x = torch.cat([files_calib(files)[:2]])
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(resnet, (x,), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(files["dir"] / "model.pt2"))
    result = invoke(
        files["dir"] / "model.pt2",
        "--quantize",
        "int8",
        "--calib-data",
        files["calib"],
        "--repeats",
        "3",
        "--force",
        "-q",
        "-o",
        files["dir"] / "e",
    )
    assert result.exit_code == 0, result.output
    report = json.loads((files["dir"] / "e" / "report.json").read_text())
    assert [s["name"] for s in report["steps"]] == ["original", "export", "quantize"]
    assert report["final"]["output_error"] < 0.1


def files_calib(files: dict[str, Path]) -> torch.Tensor:
    return torch.from_numpy(np.load(files["calib"]))


def test_pruning_with_eval_data_reports_per_layer_sensitivity(files) -> None:
    out = files["dir"] / "p"
    result = invoke(
        files["model"],
        "--arch",
        "test_cli_resnet",
        "--prune",
        "0.25",
        "--eval-data",
        files["eval"],
        "--force",
        "--repeats",
        "3",
        "-q",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert {row["layer"] for row in report["sensitivity"]} >= {"stem.0", "layer1.conv1"}
    assert "Per-layer pruning sensitivity" in (out / "report.md").read_text()
    assert (out / "pruned" / "channels.json").is_file()
    assert (out / "model.pt2").is_file()


def test_int8_without_calibration_says_what_was_left(files) -> None:
    result = invoke(
        files["model"],
        "--arch",
        "test_cli_resnet",
        "--quantize",
        "int8",
        "--input-shape",
        "1,1,8,8",
        "--force",
        "--repeats",
        "3",
        "-q",
        "-o",
        files["dir"] / "o",
    )
    assert result.exit_code == 0, result.output
    assert "no --calib-data" in result.output
    assert "kept in float" in (files["dir"] / "o" / "report.md").read_text()


def test_static_int8_without_calibration_is_a_one_line_error(files) -> None:
    result = invoke(
        files["model"],
        "--arch",
        "test_cli_resnet",
        "--quantize",
        "int8-static",
        "--input-shape",
        "1,1,8,8",
        "-q",
        "-o",
        files["dir"] / "o",
    )
    assert result.exit_code == 1
    assert "needs calibration data: pass --calib-data" in result.output
    assert not (files["dir"] / "o").exists()


def test_recipe_file_with_model_and_data(files) -> None:
    recipe = files["dir"] / "recipe.yaml"
    recipe.write_text(
        f"model: {files['model']}\narch: test_cli_resnet\ncalib_data: {files['calib']}\n"
        f"output: {files['dir'] / 'r'}\npasses: [fold_bn, {{name: export, format: pt2}}]\n"
        "analysis: {batches: [1], repeats: 3}\n"
    )
    result = invoke("--recipe", recipe, "-q")
    assert result.exit_code == 0, result.output
    assert (files["dir"] / "r" / "model.pt2").is_file()
    assert json.loads((files["dir"] / "r" / "recipe.json").read_text())["passes"][0] == "fold_bn"


def test_analyze_subcommand(files) -> None:
    out = files["dir"] / "analysis.json"
    result = invoke(
        "analyze",
        files["model"],
        "--arch",
        "test_cli_resnet",
        "--eval-data",
        files["eval"],
        "--repeats",
        "3",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["params"] > 10_000
    assert data["accuracy"] > 90
    assert "1" in data["latency"]


class Boom:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.target}",))


def test_malicious_pickle_creates_nothing_and_exits_with_a_clear_error(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Boom(marker)))
    result = invoke(tmp_path / "evil.pt", "--quantize", "int8", "-o", tmp_path / "o")
    assert result.exit_code == 1
    assert "full pickle" in result.output
    assert "--unsafe-pickle" in result.output
    assert not marker.exists()
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.pt", "--quantize", "int8"], "does not exist"),
        (
            [
                "model.pt",
                "--quantize",
                "int8",
                "--arch",
                "test_cli_resnet",
                "--input-shape",
                "1,3,32,32",
            ],
            "does not accept inputs of shape",
        ),
        (
            ["model.pt", "--quantize", "int8", "--arch", "test_cli_resnet", "--input-shape", "a,b"],
            "expected positive sizes",
        ),
        (["model.pt", "--quantize", "int8"], "pass --arch NAME"),
        (["model.pt", "--arch", "test_cli_resnet", "--input-shape", "1,1,8,8"], "nothing to do"),
    ],
)
def test_bad_input_is_a_one_line_error_with_the_fix(files, args: list[str], message: str) -> None:
    args = [str(files["dir"] / a) if a.endswith(".pt") else a for a in args]
    result = invoke(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.output.count("\n") <= 2


def test_help_lists_the_analyze_subcommand() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "analyze" in result.output
