"""`accel compress` and `accel compress analyze`, run through the typer app this package ships."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import crafted
import numpy as np
import pytest
import torch
from compress_models import Tiny, TinyResNet
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
    registry("models").remove("test_cli_resnet")


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
    assert report["steps"][0]["accuracy"] - report["final"]["accuracy"] <= 0.005  # 0.5 pt
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
    assert data["accuracy"] > 0.9
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


# Adversarial files, opened by `compress` and by `compress analyze`: each would run
# `touch marker` opened naively (see test_loading/test_spec/test_recipe for that proof);
# here: no marker, exit != 0, one `error:` line, no traceback, no output.


def one_error_line(result: Any) -> str:
    """The single line of a failed command, checked: non-zero exit, no traceback."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    return lines[0]


def crafted_model(kind: str, tiny: Any, folder: Path, marker: Path) -> Path:
    """The crafted model file (or folder) of `kind`, built from tiny's real files."""
    if kind == "pickle":
        return crafted.full_pickle(folder / "evil.pt", marker)
    if kind == "pt2 samples":
        return crafted.pt2_with_pickled_samples(tiny.program, folder / "evil.pt2", marker)
    if kind == "pt2 weight":
        return crafted.pt2_with_pickled_weight(tiny.program, folder / "evil.pt2", marker)
    if kind == "pt2 named .pt":
        return crafted.pt2_with_pickled_samples(tiny.program, folder / "evil.pt", marker)
    if kind == "torchscript":
        return crafted.torchscript_with_payload(tiny.script, folder / "evil.pt", marker)
    if kind in ("checkpoint model", "checkpoint data"):
        section = kind.split()[1]
        return crafted.checkpoint_with_target(folder / "ckpt", marker, section, tiny.arch)
    assert kind == "channels arch"
    return crafted.channels_with_target(folder / "pruned", Tiny(), marker)


CRAFTED = {
    "pickle": "is a full pickle",
    "pt2 samples": "data/sample_inputs/model.pt, which torch would unpickle with code",
    "pt2 weight": "data/weights/weight_0, which torch would unpickle with code",
    "pt2 named .pt": "which torch would unpickle with code",
    "torchscript": "is TorchScript: loading it runs the program it holds",
    "checkpoint model": "model.spec._target_ = 'os.system' names code",
    "checkpoint data": "config.data._target_ = 'os.system' names code",
    "channels arch": "channels.json: arch._target_ = 'os.system' names code",
}


@pytest.mark.parametrize("command", ["compress", "analyze"])
@pytest.mark.parametrize(("kind", "message"), CRAFTED.items(), ids=list(CRAFTED))
def test_a_crafted_file_runs_nothing(kind: str, message: str, command: str, tiny, tmp_path) -> None:
    marker = tmp_path / "pwned"
    model = crafted_model(kind, tiny, tmp_path, marker)
    out = tmp_path / ("out.json" if command == "analyze" else "out")
    args = ["analyze", model] if command == "analyze" else [model, "--fold-bn"]
    result = invoke(*args, "--input-shape", "1,1,8,8", "--repeats", "1", "-o", out)
    line = one_error_line(result)
    assert message in line
    assert not marker.exists()
    assert not out.exists()


@pytest.mark.parametrize(
    ("craft", "message"),
    [
        (crafted.recipe_with_target_pass, r"passes\[0\]\._target_ = 'os\.system' names code"),
        (crafted.recipe_with_python_tag, "line 1: could not determine a constructor"),
    ],
)
def test_a_crafted_recipe_runs_nothing(craft, message: str, tiny, tmp_path) -> None:
    marker = tmp_path / "pwned"
    recipe = craft(tmp_path / "r.yaml", marker)
    result = invoke("--recipe", recipe, tiny.program, "-o", tmp_path / "out")
    assert re.search(message, one_error_line(result))
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_trust_file_and_its_alias_open_a_full_pickle(tiny, tmp_path) -> None:
    torch.save(Tiny().eval(), tmp_path / "whole.pt")
    for flag in ("--trust-file", "--unsafe-pickle"):
        out = tmp_path / f"a{flag}.json"
        result = invoke("analyze", tmp_path / "whole.pt", "--input-shape", "1,1,8,8",
                        "--repeats", "1", flag, "-o", out)  # fmt: skip
        assert result.exit_code == 0, result.output
        assert json.loads(out.read_text())["params"] == 650


# Output folders: accel writes only what it owns.


def compress_tiny(tiny: Any, out: Path, *extra: object) -> Any:
    return invoke(tiny.program, "--fold-bn", "--calib-data", tiny.calib, "--repeats", "1",
                  "-q", "-o", out, *extra)  # fmt: skip


def test_a_users_file_in_the_output_folder_survives(tiny, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    line = one_error_line(compress_tiny(tiny, out))
    assert "--output" in line
    assert "holds files accel did not write (thesis.tex)" in line
    assert (out / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_output_that_is_a_file_or_the_current_folder_is_refused(
    tiny, tmp_path, monkeypatch
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert "is a file, not a folder" in one_error_line(compress_tiny(tiny, tmp_path / "notes.txt"))
    assert (tmp_path / "notes.txt").read_text() == "mine"
    monkeypatch.chdir(tmp_path)
    assert "the folder you are in" in one_error_line(compress_tiny(tiny, Path(".")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_second_run_replaces_accels_own_output(tiny, tmp_path) -> None:
    out = tmp_path / "out"
    assert compress_tiny(tiny, out).exit_code == 0
    first = json.loads((out / "recipe.json").read_text())
    result = invoke(tiny.program, "--export", "pt2", "--input-shape", "1,1,8,8",
                    "--repeats", "1", "-q", "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert first["passes"] == ["fold_bn"]
    assert json.loads((out / "recipe.json").read_text())["passes"] == [
        {"name": "export", "format": "pt2"}
    ]
    assert (out / ".accel-output.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_killed_compress_leaves_nothing_after_the_next_run(tiny, tmp_path) -> None:
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-m", "accel.compress.cli", tiny.program, "--fold-bn",
         "--input-shape", "1,1,8,8", "--repeats", "1", "-q", "-o", out],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    temp = tmp_path / f".tmp-{child.pid}-out"
    deadline = time.monotonic() + 60
    while not temp.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.kill()
    child.wait()
    assert temp.is_dir(), "the run ended before its temporary folder was seen"
    assert compress_tiny(tiny, out).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "model.pt2").is_file()


def test_analyze_replaces_only_its_own_json(tiny, tmp_path) -> None:
    out = tmp_path / "analysis.json"
    args = ("analyze", tiny.program, "--input-shape", "1,1,8,8", "--repeats", "1", "-o", out)
    assert invoke(*args).exit_code == 0
    assert json.loads(out.read_text())["format"] == "accel.compress.analysis/1"
    assert invoke(*args).exit_code == 0
    out.write_text('{"mine": 1}')
    assert "was not written by accel compress analyze" in one_error_line(invoke(*args))
    assert out.read_text() == '{"mine": 1}'


# A static-batch .pt2: compress and analyze run it at its own batch, and say so.


def test_a_static_batch_program(tmp_path) -> None:
    program = torch.export.export(Tiny().eval(), (torch.rand(1, 1, 8, 8),))
    torch.export.save(program, str(tmp_path / "static.pt2"))
    np.savez(tmp_path / "eval.npz", x=np.random.rand(5, 1, 8, 8).astype("float32"),
             y=np.arange(5))  # fmt: skip
    result = invoke(tmp_path / "static.pt2", "--fold-bn", "--repeats", "1", "-q",
                    "-o", tmp_path / "o")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "a static program: measured and served at batch 1" in result.output.splitlines()[-1]
    result = invoke("analyze", tmp_path / "static.pt2", "--eval-data", tmp_path / "eval.npz",
                    "--repeats", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "accepts only batch 1" in result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert list(report["latency"]) == ["1"]
    assert 0 <= report["accuracy"] <= 1


def test_usage_errors_are_one_line() -> None:
    assert "No such option: --bogus" in one_error_line(invoke("x.pt", "--bogus"))
    assert "'--prune' requires an argument" in one_error_line(invoke("x.pt", "--prune"))
    assert "Missing argument 'model'" in one_error_line(invoke("analyze"))


def test_normalised_image_folder_calibration_is_recorded_for_serving(tiny, tmp_path) -> None:
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(8):
        Image.fromarray(np.full((8, 8), 30 * i, "uint8")).save(photos / f"{i}.png")
    out = tmp_path / "out"
    args = [tiny.program, "--quantize", "int8", "--calib-data", photos]
    args += ["--input-shape", "1,1,8,8", "--mean", "0.5", "--std", "0.25", "--repeats", "1"]
    result = invoke(*args, "--force", "-q", "-o", out)
    assert result.exit_code == 0, result.output
    card = {"image": {"mean": [0.5], "std": [0.25]}}
    assert json.loads((out / "preprocessing.json").read_text()) == card
    assert json.loads((out / "report.json").read_text())["preprocessing"] == card


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--std", "0"], "--std '0': expected imagenet, or one value per channel"),
        (["--mean", "a,b"], "--mean 'a,b': expected imagenet"),
    ],
)
def test_bad_normalisation_flags_are_one_line(tiny, tmp_path, flags, message) -> None:
    result = invoke(tiny.program, "--quantize", "int8", *flags, "-o", tmp_path / "out")
    assert result.exit_code != 0
    assert message in result.output
