"""A table of bad input to `accel compress` and `accel compress analyze`, one change each from
a command that works: every case exits non-zero within seconds with one `error:` line that
names the flag or file at fault, no traceback, and nothing written.

`{name}` in a case's arguments is a file of the module's `bad` folder (built once), `{out}` the
case's own output path. Extend the table whenever a flag or an accepted file appears.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import crafted
import numpy as np
import pytest
import torch
from compress_models import Tiny, TinyResNet
from PIL import Image
from typer.testing import CliRunner

from accel.compress.cli import app
from accel.compress.spec import save_pruned

runner = CliRunner()
BASE = ["{model}", "--arch", "test_tiny", "--fold-bn", "--repeats", "1", "-q"]
WITH_CALIB = [*BASE, "--calib-data", "{calib}"]
SECONDS = 10.0  # generous for a loaded CI machine; a case that does real work takes longer


def flag_cases() -> list[tuple[list[str], str]]:
    """Each flag with values outside its range: the message names the flag."""
    bad = {
        "--prune": ["half", "abc", "0", "1", "-0.5", "nan", "inf", "1.5", "", "0.5.5", "2e0",
                    "-inf", "auto "],
        "--repeats": ["0", "-5", "abc", "1.5", "", "1001", "nan", "1e3"],
        "--epochs": ["-1", "abc", "1.5", "10001", "nan", ""],
        "--max-drop": ["nan", "-1", "inf", "-inf", "abc", "101", ""],
        "--target": ["mips", "X86", "", "arm"],
        "--backend": ["onnx", "tensorrt", "", "ORT"],
        "--export": ["tflite", "ONNX", "", "pt"],
        "--quantize": ["fp16", "int2", "INT8", ""],
        "--input-shape": ["a,b", "0,1,8,8", "-1,1,8,8", "1", "1,1,1,1,1,1,1,1,1", "5000,1,8,8",
                          "1,100000,1000,1000", "1.5,1,8,8", ""],
        "--input-spec": ["x", "x:float32", "x:float99[1,8]", "x:int64[0,8]", "x:int64[1,a]",
                         "1x:int64[1,8]", "x:int64[1,8],x:int64[1,8]", "x:int64[]",
                         "a:int64[1,8],b:int64[2,8]", "x:int64[5000,8]", ""],
    }  # fmt: skip
    cases = [([*WITH_CALIB, flag, value], flag) for flag, values in bad.items() for value in values]
    cases.append(([*BASE, "--input-shape", "1,3,32,32"], "--input-shape"))
    cases.append(([*BASE, "--prune", "auto", "--calib-data", "{calib}"], "--max-drop"))
    cases.append(([*BASE, "--quantize", "int8", "--backend", "pt2e", "--export", "onnx",
                   "--calib-data", "{calib}"], "use backend 'ort'"))  # fmt: skip
    return cases


def analyze_cases() -> list[tuple[list[str], str]]:
    base = ["analyze", "{model}", "--arch", "test_tiny", "--calib-data", "{calib}"]
    return [
        ([*base, "--repeats", "0"], "--repeats"),
        ([*base, "--repeats", "abc"], "--repeats"),
        ([*base, "--repeats", "-1"], "--repeats"),
        ([*base, "--input-shape", "x"], "--input-shape"),
        ([*base, "-o", "{mine.json}"], "mine.json exists and was not written by accel"),
        ([*base, "-o", "{folder}"], "is not a plain file"),
        ([*base, "-o", "{notes.txt}/a.json"], "notes.txt is a file, not a folder"),
        (["analyze", "{model}", "--calib-data", "{calib}"], "pass --arch NAME"),
        (["analyze", "{missing.pt}", "--input-shape", "1,1,8,8"], "missing.pt does not exist"),
    ]


def output_cases() -> list[tuple[list[str], str]]:
    return [
        ([*WITH_CALIB, "-o", "{notes.txt}"], "notes.txt is a file, not a folder"),
        ([*WITH_CALIB, "-o", "{folder}"], "holds files accel did not write (keep.txt)"),
        ([*WITH_CALIB, "-o", "{hidden}"], "holds files accel did not write (.keep)"),
        ([*WITH_CALIB, "-o", "{notes.txt}/out"], "notes.txt is a file, not a folder"),
        ([*WITH_CALIB, "-o", "{folder}/.."], "--output"),
    ]


def usage_cases() -> list[tuple[list[str], str]]:
    return [
        ([*WITH_CALIB, "--bogus"], "No such option: --bogus"),
        ([*WITH_CALIB, "--prune"], "'--prune' requires an argument"),
        ([*WITH_CALIB, "--repeats"], "'--repeats' requires an argument"),
        (["analyze"], "Missing argument 'model'"),
        (["analyze", "{model}", "--sensitivity=3"], "--sensitivity"),
    ]


MODEL_FAULTS = {
    "missing.pt": "missing.pt does not exist",
    "text.pt": "text.pt is not a model file accel reads",
    "empty.pt": "empty.pt is not a model file accel reads",
    "random.pt": "random.pt is not a model file accel reads",
    "random.pt2": "random.pt2 is not a readable .pt2 archive",
    "text.onnx": "text.onnx is not an ONNX model",
    "folder": "no checkpoint at",
    "list.pt": "list.pt holds a list, not a model",
    "pickle.pt": "pickle.pt is a full pickle",
    "samples.pt2": "samples.pt2 holds data/sample_inputs/model.pt",
    "weights.pt2": "weights.pt2 holds data/weights/weight_0",
    "script.pt": "script.pt is TorchScript: loading it runs the program",
    "resnet.pt": "weights in .*resnet.pt do not fit the architecture",
    "broken_spec": "channels.json is not readable JSON",
    "spec_arch": "channels.json: arch._target_ = 'os.system'",
    "ckpt_model": "model.spec._target_ = 'os.system'",
    "ckpt_data": "config.data._target_ = 'os.system'",
}


def model_cases() -> list[tuple[list[str], str]]:
    """Bad model files, each in place of the model: the message names the file."""
    flags = ["--fold-bn", "--repeats", "1", "--input-shape", "1,1,8,8", "-q"]
    cases = [([f"{{{name}}}", "--arch", "test_tiny", *flags], text)
             for name, text in MODEL_FAULTS.items() if name not in ("ckpt_model", "ckpt_data",
                                                                    "spec_arch")]  # fmt: skip
    cases += [([f"{{{name}}}", *flags], MODEL_FAULTS[name]) for name in ("ckpt_model", "ckpt_data")]
    cases.append((["{spec_arch}", *flags], MODEL_FAULTS["spec_arch"]))
    cases.append((["{model}", *flags], "pass --arch NAME"))
    cases.append((["{model}", "--arch", "no_such_model", *flags], "has no 'no_such_model'"))
    cases.append((["{model}", "--arch", "test_tiny", "--input-shape", "1,1,8,8"], "nothing to do"))
    return cases


RECIPES = {
    "missing.yaml": (None, "missing.yaml does not exist"),
    "broken.yaml": ("passes: [fold_bn\nverify: {\n", "broken.yaml: line 2"),
    "tag.yaml": ("passes: !!python/object/apply:os.system ['true']\n", "tag.yaml: line 1"),
    "target.yaml": ("passes: [{_target_: os.system, command: 'true'}]\n", r"passes\[0\]._target_"),
    "list.yaml": ("- fold_bn\n", "list.yaml: expected a mapping"),
    "key.yaml": ("passes: [fold_bn]\nsteps: 3\n", r"key.yaml: unknown keys \['steps'\]"),
    "pass.yaml": ("passes: [fold]\n", r"passes\[0\] = 'fold' is not a pass"),
    "ratio0.yaml": ("passes: [{name: prune, ratio: 0}]\n", r"passes\[0\].ratio"),
    "ratio2.yaml": ("passes: [{name: prune, ratio: 1.5}]\n", r"passes\[0\].ratio"),
    "ratiox.yaml": ("passes: [{name: prune, ratio: abc}]\n", r"passes\[0\].ratio"),
    "args.yaml": ("passes: [{name: prune, colour: red}]\n", r"args.yaml: passes\[0\]: .*colour"),
    "dropnan.yaml": ("passes: [fold_bn]\nverify: {max_drop: .nan}\n", "verify.max_drop"),
    "dropneg.yaml": ("passes: [fold_bn]\nverify: {max_drop: -1}\n", "verify.max_drop"),
    "repeats.yaml": ("passes: [fold_bn]\nanalysis: {repeats: 0}\n", "analysis.repeats"),
    "batch0.yaml": ("passes: [fold_bn]\nanalysis: {batches: [0]}\n", "analysis.batches"),
    "batchx.yaml": ("passes: [fold_bn]\nanalysis: {batches: x}\n", "analysis.batches"),
    "batches.yaml": ("passes: [fold_bn]\nanalysis: {batches: []}\n", "analysis.batches"),
    "mips.yaml": ("passes: [fold_bn]\ntarget: mips\n", "target 'mips' is not supported"),
    "force.yaml": ("passes: [fold_bn]\nverify: {force: 'yes'}\n", "force = 'yes'"),
    "shape.yaml": ("passes: [fold_bn]\ninput_shape: [1, 0]\n", "input_shape"),
    "model.yaml": ("passes: [fold_bn]\nmodel: 3\n", "model = 3"),
    "broken.json": ('{"passes": [', "broken.json: line 1"),
    "laughs.yaml": (None, "more than 1,000,000 values"),
}


def recipe_cases() -> list[tuple[list[str], str]]:
    return [(["--recipe", f"{{{name}}}", "{model}", "--arch", "test_tiny", "-q"], text)
            for name, (_, text) in RECIPES.items()]  # fmt: skip


DATA_FLAG = {"halves.npz": "--eval-data", "negative.npz": "--eval-data",
             "onehot.npz": "--eval-data", "textlabels.npz": "--eval-data",
             "mismatch.npz": "--eval-data", "mismatch.pt": "--eval-data"}  # fmt: skip


def data_cases() -> list[tuple[list[str], str]]:
    """Bad data files under each data flag: the message names the file (or the flag)."""
    base = ["{model}", "--arch", "test_tiny", "--fold-bn", "--repeats", "1", "-q"]
    cases = [([*base, DATA_FLAG.get(name, "--calib-data"), f"{{{name}}}"], name)
             for name in crafted.DATA_FAULTS]  # fmt: skip
    cases += [
        ([*base, "--eval-data", "{labels12.npz}"], "--eval-data"),
        ([*base, "--train-data", "{labels12.npz}", "--calib-data", "{calib}"], "--train-data"),
        ([*base, "--eval-data", "{calib}"], "has no labels"),
        ([*base, "--train-data", "{calib}", "--calib-data", "{calib}"], "has no labels"),
        ([*base, "--calib-data", "{small.npy}"], "from --calib-data"),
        ([*base, "--calib-data", "{calib}", "--eval-data", "{small.npz}"], "small.npz: samples"),
        ([*base, "--calib-data", "no_such_dataset"], "no_such_dataset"),
        ([*base, "--calib-data", "{missing.npy}"], "missing.npy does not exist"),
        ([*base, "--calib-data", "{images}", "--input-shape", "1,1,8,8"], "b.png is unreadable"),
        ([*base, "--calib-data", "{noimages}", "--input-shape", "1,1,8,8"], "holds no images"),
        ([*base, "--calib-data", "{goodimages}"], "needs --input-shape"),
        ([*base, "--calib-data", "{empty.npz}"], "empty.npz has no array 'x'"),
        (["analyze", "{model}", "--arch", "test_tiny", "--eval-data", "{labels12.npz}"],
         "label 12 is outside the model's 10 classes"),
        (["analyze", "{model}", "--arch", "test_tiny", "--calib-data", "{nan.npy}"], "nan.npy"),
    ]  # fmt: skip
    return cases


CASES = [
    *(("flag", c) for c in flag_cases()),
    *(("analyze", c) for c in analyze_cases()),
    *(("output", c) for c in output_cases()),
    *(("usage", c) for c in usage_cases()),
    *(("model", c) for c in model_cases()),
    *(("recipe", c) for c in recipe_cases()),
    *(("data", c) for c in data_cases()),
]


@pytest.fixture(scope="module")
def bad(tiny, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every file the table names, built once: `{name}` -> path."""
    folder = tmp_path_factory.mktemp("bad")
    files = {"model": tiny.model, "calib": tiny.calib, "missing.pt": folder / "missing.pt"}
    write_bad_models(folder, tiny)
    write_bad_outputs(folder)
    write_bad_recipes(folder)
    write_bad_data(folder)
    files.update({p.name: p for p in folder.iterdir()})
    files["pwned"] = folder / "pwned"  # what a payload would create
    return files


def write_bad_models(folder: Path, tiny: Any) -> None:
    marker = folder / "pwned"
    (folder / "text.pt").write_text("a text file")
    (folder / "empty.pt").write_bytes(b"")
    (folder / "random.pt").write_bytes(np.random.default_rng(0).bytes(256))
    (folder / "random.pt2").write_bytes(np.random.default_rng(1).bytes(256))
    (folder / "text.onnx").write_text("not onnx")
    (folder / "folder").mkdir()
    (folder / "folder" / "keep.txt").write_text("a user's file")
    torch.save([1, 2], folder / "list.pt")
    torch.save(TinyResNet().state_dict(), folder / "resnet.pt")
    crafted.full_pickle(folder / "pickle.pt", marker)
    crafted.pt2_with_pickled_samples(tiny.program, folder / "samples.pt2", marker)
    crafted.pt2_with_pickled_weight(tiny.program, folder / "weights.pt2", marker)
    crafted.torchscript_with_payload(tiny.script, folder / "script.pt", marker)
    save_pruned(Tiny(), folder / "broken_spec", arch="test_tiny")
    (folder / "broken_spec" / "channels.json").write_text("{")
    crafted.channels_with_target(folder / "spec_arch", Tiny(), marker)
    crafted.checkpoint_with_target(folder / "ckpt_model", marker, "model", tiny.arch)
    crafted.checkpoint_with_target(folder / "ckpt_data", marker, "data", tiny.arch)


def write_bad_outputs(folder: Path) -> None:
    (folder / "notes.txt").write_text("a user's notes")
    (folder / "mine.json").write_text('{"mine": true}')
    (folder / "hidden").mkdir()
    (folder / "hidden" / ".keep").write_text("")


def write_bad_recipes(folder: Path) -> None:
    for name, (text, _) in RECIPES.items():
        if text is not None:
            (folder / name).write_text(text)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (folder / "laughs.yaml").write_text("passes: [fold_bn]\nanalysis:\n  " + "\n  ".join(lines))


def write_bad_data(folder: Path) -> None:
    for name in crafted.DATA_FAULTS:
        crafted.write_data(folder, name)
    x = np.random.rand(4, 1, 8, 8).astype("float32")
    np.savez(folder / "labels12.npz", x=x, y=np.array([0, 1, 2, 12]))
    np.save(folder / "small.npy", np.random.rand(4, 1, 4, 4).astype("float32"))
    np.savez(folder / "small.npz", x=np.random.rand(4, 1, 4, 4).astype("float32"), y=np.arange(4))
    np.savez(folder / "empty.npz")
    for name, broken in (("images", True), ("goodimages", False)):
        (folder / name).mkdir()
        Image.fromarray(np.zeros((8, 8), "uint8")).save(folder / name / "a.png")
        if broken:
            (folder / name / "b.png").write_text("not an image")
    (folder / "noimages").mkdir()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (to prove a case changed nothing)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_the_table_covers_at_least_120_cases() -> None:
    counts: dict[str, int] = {}
    for category, _ in CASES:
        counts[category] = counts.get(category, 0) + 1
    assert sum(counts.values()) >= 120, counts
    assert len({json.dumps(args) for _, (args, _) in CASES}) == len(CASES)  # no duplicates


IDS = [f"{category}-{index}" for index, (category, _) in enumerate(CASES)]


@pytest.mark.parametrize(("category", "case"), CASES, ids=IDS)
def test_bad_input_is_one_line_naming_it(category: str, case, bad, tiny, tmp_path: Path) -> None:
    args, expected = case
    out = tmp_path / "out"
    paths = {**bad, "out": out}
    missing = bad["folder"].parent  # a name not built is a file that does not exist
    given = [re.sub(r"\{([^{}]+)\}", lambda m: str(paths.get(m.group(1), missing / m.group(1))), a)
             for a in args]  # fmt: skip
    if "-o" not in given and category != "usage" and given[0] != "analyze":
        given += ["-o", str(out)]
    before = snapshot(bad["folder"].parent), snapshot(tiny.dir)
    start = time.perf_counter()
    result = runner.invoke(app, given)
    seconds = time.perf_counter() - start
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output, result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    assert expected in lines[0] or re.search(expected, lines[0]), lines[0]
    assert seconds < SECONDS
    assert list(tmp_path.iterdir()) == []  # no output, no .tmp-/.old-/.rejected beside it
    assert (snapshot(bad["folder"].parent), snapshot(tiny.dir)) == before
    assert not bad["pwned"].exists()
