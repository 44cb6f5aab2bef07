"""A slim install (no extras): it imports, and a feature needing an extra says in one line which
one to install, before any model or data loads. Missing packages are simulated by a `None` in
`sys.modules`, which makes their import fail as an absent package's does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accel.compress.cli import app
from accel.compress.report import write_report

EXTRAS = {
    "ort": ("onnx", "onnxruntime", "onnxscript"),
    "torchao": ("torchao",),
    "openvino": ("openvino", "nncf"),
    "plot": ("matplotlib",),
}
ORT_HINT = "needs 'accel-compress[ort]': pip install 'accel-compress[ort]'"


def block(monkeypatch: pytest.MonkeyPatch, *extras: str) -> None:
    """Make the packages of `extras` unimportable for this test."""
    for extra in extras:
        for module in EXTRAS[extra]:
            monkeypatch.setitem(sys.modules, module, None)


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_the_package_imports_without_any_extra() -> None:
    blocked = [m for modules in EXTRAS.values() for m in modules] + ["typer"]
    code = (
        f"import sys; sys.modules.update(dict.fromkeys({blocked!r}))\n"
        "import accel.compress\n"
        "from accel.compress import compress, quantize, prune, load_model\n"
        "import accel.compress.command, accel.compress.passes.quantize\n"
        "import accel.compress.passes.export, accel.compress.report\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_an_onnx_model_without_ort_is_one_line_before_it_is_read(monkeypatch, tmp_path) -> None:
    block(monkeypatch, "ort")
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not even an ONNX file: it must not be opened")
    for args in (["--quantize", "int8"], ["--fold-bn"]):
        code, output = invoke(model, *args, "-q", "-o", tmp_path / "out")
        assert code == 1
        assert output.strip().count("\n") == 0, output
        assert output.startswith("error: the ONNX model "), output
        assert output.strip().endswith(ORT_HINT), output
    assert not (tmp_path / "out").exists()


def test_ort_int8_without_ort_names_the_extra(monkeypatch, tiny, tmp_path) -> None:
    block(monkeypatch, "ort")
    args = ["--arch", tiny.arch, "--quantize", "int8", "--input-shape", "1,1,8,8", "-q"]
    code, output = invoke(tiny.model, *args, "-o", tmp_path / "out")
    assert (code, output.strip()) == (
        1,
        f"error: ONNX (export, ONNX Runtime int8) {ORT_HINT}",
    )


def test_pt2e_without_torchao_names_the_extra(monkeypatch, tiny, tmp_path) -> None:
    block(monkeypatch, "torchao")
    args = ["--quantize", "int8", "--export", "pt2", "--calib-data", tiny.calib, "-q"]
    code, output = invoke(tiny.program, *args, "-o", tmp_path / "out")
    assert code == 1
    assert output.strip().endswith("pip install 'accel-compress[torchao]'"), output


def test_openvino_int8_without_openvino_names_the_extra(monkeypatch, tiny, tmp_path) -> None:
    block(monkeypatch, "openvino")
    args = ["--quantize", "int8", "--backend", "openvino", "--calib-data", tiny.calib, "-q"]
    code, output = invoke(tiny.program, *args, "-o", tmp_path / "out")
    assert code == 1
    assert output.strip().count("\n") == 0, output
    assert output.strip().endswith("pip install 'accel-compress[openvino]'"), output
    assert not (tmp_path / "out").exists()


def test_without_openvino_the_int8_choice_says_what_was_not_tried(
    monkeypatch, tiny, tmp_path
) -> None:
    import json

    block(monkeypatch, "openvino")
    args = ["--quantize", "int8", "--calib-data", tiny.calib, "--repeats", "1", "-q"]
    code, output = invoke(tiny.program, *args, "-o", tmp_path / "out")
    assert code == 0, output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    step = next(s for s in report["steps"] if s["name"] == "quantize")
    assert any(
        "OpenVINO + NNCF not tried" in n and "accel-compress[openvino]" in n for n in step["notes"]
    ), step["notes"]


def test_without_matplotlib_the_report_says_why_there_is_no_png(monkeypatch, tmp_path) -> None:
    block(monkeypatch, "plot")
    analysis = {"size_bytes": 10, "latency": {"1": {"median_ms": 1.0}}}
    paths = write_report(
        {"model": "m", "steps": [{"name": "original", "analysis": analysis}]}, tmp_path
    )
    assert [p.name for p in paths] == ["report.json", "report.md"]
    assert not (tmp_path / "report.png").exists()
    assert "pip install 'accel-compress[plot]'" in (tmp_path / "report.md").read_text()


def test_a_slim_compress_prunes_and_writes_pt2(monkeypatch, tiny, tmp_path: Path) -> None:
    block(monkeypatch, "ort", "torchao", "plot")
    out = tmp_path / "out"
    args = ["--arch", tiny.arch, "--prune", "0.5", "--calib-data", tiny.calib, "--force", "-q"]
    code, output = invoke(tiny.model, *args, "--repeats", "1", "-o", out)
    assert code == 0, output
    assert {"model.pt2", "pruned", "report.json", "report.md"} <= {p.name for p in out.iterdir()}
    assert not (out / "report.png").exists()
