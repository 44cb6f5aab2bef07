"""`accel compress` on models whose inputs are not one float image: `.pt2` shape specs, BERT
with no flags, named `.npz` calibration, and dynamic int8 of MLP/LSTM/GRU programs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from compress_models import MLP, Recurrent, Tiny, Tokens
from typer.testing import CliRunner

import accel.compress.analysis
from accel.compress.cli import app

runner = CliRunner()
Dim = torch.export.Dim


@pytest.fixture(autouse=True)
def no_warmup(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests check what is written, not timings: skip the half second of warm-up."""
    monkeypatch.setattr(accel.compress.analysis, "WARMUP_S", 0.0)


def compress(*args: object) -> tuple[Any, dict[str, Any]]:
    """Run `accel compress ARGS --repeats 1 -q`; (result, report.json) of its `-o` folder."""
    result = runner.invoke(app, [str(a) for a in (*args, "--repeats", "1", "-q")])
    assert result.exit_code == 0, result.output
    out = Path(str(args[args.index("-o") + 1]))
    return result, json.loads((out / "report.json").read_text())


def save_program(model: torch.nn.Module, args: tuple[Any, ...], shapes: Any, path: Path) -> Path:
    program = torch.export.export(model.eval(), args, dynamic_shapes=shapes)
    torch.export.save(program, str(path))
    return path


def batch_dims(path: Path) -> list[int | str]:
    """The first dim of each input of an ONNX file (an int: fixed; text: dynamic)."""
    graph = onnx.load(str(path)).graph
    return [i.type.tensor_type.shape.dim[0].dim_value or i.type.tensor_type.shape.dim[0].dim_param
            for i in graph.input]  # fmt: skip


def quantize_step(report: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["name"] == "quantize")


# The four ways a program records its batch: each compresses with static int8 (asked for by
# name: with plain `int8` a model without convolutions may be written dynamic when faster).

SPECS = {
    "static": (None, ("4",), 4),
    "max8": (Dim("batch", min=1, max=8), ("1", "8"), None),
    "min2": (Dim("batch", min=2), ("1", "32"), None),
    "auto": (Dim.AUTO, ("1", "32"), None),
}


@pytest.mark.parametrize("spec", SPECS, ids=list(SPECS))
def test_each_batch_spec_of_a_program_compresses(spec: str, tmp_path: Path) -> None:
    dim, measured, fixed = SPECS[spec]
    path = save_program(
        Tiny(), (torch.rand(4, 1, 8, 8),), None if dim is None else ({0: dim},), tmp_path / "m.pt2"
    )
    np.save(tmp_path / "calib.npy", np.random.rand(20, 1, 8, 8).astype("float32"))
    out = tmp_path / "out"
    result, report = compress(path, "--quantize", "int8-static", "--calib-data",
                              tmp_path / "calib.npy", "-o", out)  # fmt: skip
    step = quantize_step(report)
    assert step["metrics"]["mode"] == "static"
    assert step["output_error"] < 0.1
    assert tuple(report["steps"][0]["analysis"]["latency"]) == measured
    onnx_file = out / "model.onnx"
    if fixed:  # served at its own batch: the ONNX file keeps it
        note = "a static program: measured and served at batch 4"
        assert note in result.output
        assert note in report["notes"]
        assert note in (out / "report.md").read_text()
        assert report["recipe"]["analysis"]["batches"] == [4]
        assert batch_dims(onnx_file) == [4]
    else:
        assert isinstance(batch_dims(onnx_file)[0], str)


# BERT, no flag but --quantize: the signature, the vocabulary and the int8 mode from the program.


@pytest.fixture(scope="session")
def bert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128)  # fmt: skip
    model = BertModel(config).eval()
    ids, mask = torch.randint(0, 1000, (2, 16)), torch.ones(2, 16, dtype=torch.long)
    batch = Dim("batch")
    path = tmp_path_factory.mktemp("bert") / "bert.pt2"
    return model, save_program(model, (ids, mask), ({0: batch}, {0: batch}), path)


def test_a_transformers_program_opens_in_a_fresh_process(bert) -> None:
    """Its outputs are transformers classes: accel imports transformers' output module (its
    own fixed choice, not a name from the file) before torch.export.load rebuilds them."""
    import subprocess
    import sys

    code = "import sys; from accel.core.inference import open_program; open_program(sys.argv[1])"
    command = [sys.executable, "-c", code, str(bert[1])]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_bert_with_no_flags_is_verified_dynamic_int8(bert, tmp_path: Path) -> None:
    import onnxruntime

    model, path = bert
    out = tmp_path / "out"
    result, report = compress(path, "--quantize", "int8", "-o", out)
    assert report["final"]["name"] == "quantize", result.output
    assert report["final"]["metrics"]["mode"] == "dynamic"
    assert report["final"]["metrics"]["quantized_ops"]["MatMulInteger"] >= 12  # every Linear
    assert report["main_output"] == "last_hidden_state"
    assert [i["dtype"] for i in report["inputs"]["inputs"]] == ["int64", "int64"]
    assert report["final"]["output_error"] <= 0.05
    assert "(last_hidden_state)" in result.output
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask"]
    ids = torch.randint(0, 1000, (3, 16), generator=torch.Generator().manual_seed(1))
    mask = torch.ones(3, 16, dtype=torch.long)
    got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    with torch.no_grad():
        want = model(ids, mask).last_hidden_state.numpy()
    assert np.linalg.norm(got - want) / np.linalg.norm(want) <= 0.05


def test_a_program_exported_with_keyword_inputs_compresses(bert, tmp_path: Path) -> None:
    """`torch.export.export(model, (), {"input_ids": ..., "attention_mask": ...})`, the usual
    way to export a Hugging Face model: once refused ("kwarg keyword mismatch")."""
    import onnxruntime

    model = bert[0]
    ids, mask = torch.randint(0, 1000, (2, 16)), torch.ones(2, 16, dtype=torch.long)
    batch = Dim("batch")
    program = torch.export.export(
        model,
        (),
        {"input_ids": ids, "attention_mask": mask},
        dynamic_shapes={"input_ids": {0: batch}, "attention_mask": {0: batch}},
    )
    torch.export.save(program, str(tmp_path / "bert.pt2"))
    out = tmp_path / "out"
    result, report = compress(tmp_path / "bert.pt2", "--quantize", "int8", "-o", out)
    assert report["final"]["metrics"]["mode"] == "dynamic", result.output
    assert [i["name"] for i in report["inputs"]["inputs"]] == ["input_ids", "attention_mask"]
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask"]
    assert batch_dims(out / "model.onnx")[0] not in (1, 2)  # still dynamic
    ids = torch.randint(0, 1000, (3, 16), generator=torch.Generator().manual_seed(2))
    got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": np.ones((3, 16))
                             .astype("int64")})[0]  # fmt: skip
    with torch.no_grad():
        want = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert np.linalg.norm(got - want.numpy()) / np.linalg.norm(want.numpy()) <= 0.05


def test_named_npz_calibrates_static_int8_of_two_integer_inputs(tmp_path: Path) -> None:
    ids, mask = torch.randint(0, 50, (4, 12)), torch.ones(4, 12, dtype=torch.long)
    path = save_program(Tokens(), (ids, mask), ({0: Dim("b")}, {0: Dim("b")}), tmp_path / "t.pt2")
    tokens = np.random.randint(0, 50, (24, 12))
    masks = (np.arange(12) < np.random.randint(4, 13, (24, 1))).astype(np.int64)
    np.savez(tmp_path / "tokens.npz", attention_mask=masks, input_ids=tokens)  # names, any order
    _result, report = compress(path, "--quantize", "int8-static", "--calib-data",
                              tmp_path / "tokens.npz", "-o", tmp_path / "out")  # fmt: skip
    step = quantize_step(report)
    assert step["metrics"]["mode"] == "static"
    assert step["output_error"] < 0.1
    assert report["inputs"]["source"] == "the program"
    wrong = runner.invoke(app, [str(path), "--quantize", "int8", "--calib-data",
                                str(tmp_path / "tokens.npz"), "--input-spec",
                                "ids:int64[1,12]", "-o", str(tmp_path / "o2")])  # fmt: skip
    assert wrong.exit_code == 1
    assert "--input-spec gives 1 input(s) but" in wrong.output


# Dynamic int8 (no calibration data) of programs with a Linear: no stale ONNX shapes.

RECURRENT = {
    "mlp": (MLP, (4, 1, 8, 8)),
    "lstm": (Recurrent, (4, 6, 8)),
    "gru": (Recurrent, (4, 6, 8)),
}


@pytest.mark.parametrize("kind", RECURRENT, ids=list(RECURRENT))
def test_dynamic_int8_of_a_program_with_linear_layers(kind: str, tmp_path: Path) -> None:
    build, shape = RECURRENT[kind]
    torch.manual_seed(0)
    model = build() if build is MLP else build(kind)
    path = save_program(
        model, (torch.randn(shape),), ({0: Dim("batch", min=1)},), tmp_path / "m.pt2"
    )
    _, report = compress(path, "--quantize", "int8", "-o", tmp_path / "out")
    step = quantize_step(report)
    assert step["metrics"]["mode"] == "dynamic"
    assert step["metrics"]["quantized_ops"].get("MatMulInteger", 0) >= 1
    assert step["output_error"] < 0.1


def test_dynamic_int8_of_a_torchscript_lstm(tmp_path: Path) -> None:
    torch.manual_seed(0)
    torch.jit.script(Recurrent("lstm").eval()).save(str(tmp_path / "lstm.pt"))
    _, report = compress(tmp_path / "lstm.pt", "--trust-file", "--input-shape", "1,6,8",
                         "--quantize", "int8", "-o", tmp_path / "out")  # fmt: skip
    assert quantize_step(report)["output_error"] < 0.1
