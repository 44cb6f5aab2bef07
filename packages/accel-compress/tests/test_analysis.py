"""Parameters, MACs, size on disk (incl. ONNX external data) and latency."""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from compress_models import MLP, TinyResNet

from accel.compress import export_onnx
from accel.compress.analysis import (
    analyze,
    compare_latency,
    count_macs,
    count_params,
    latency_ms,
    size_on_disk,
)
from accel.compress.artifacts import OnnxModel


def test_params_and_macs_of_an_mlp() -> None:
    model = MLP()
    assert count_params(model) == 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    weights = 64 * 128 + 128 * 64 + 64 * 10
    macs = count_macs(model, torch.randn(1, 1, 8, 8))
    assert macs is not None
    assert weights <= macs <= 1.03 * weights


def test_onnx_size_counts_its_external_data_file(tmp_path: Path) -> None:
    path = export_onnx(MLP().eval(), torch.randn(2, 1, 8, 8), tmp_path / "m.onnx").path
    single = size_on_disk(OnnxModel(path))
    model = onnx.load(str(path))
    external = tmp_path / "ext.onnx"
    onnx.save_model(
        model, str(external), save_as_external_data=True, location="ext.onnx.data", size_threshold=0
    )
    artifact = OnnxModel(external)
    assert [p.name for p in artifact.files()] == ["ext.onnx", "ext.onnx.data"]
    assert size_on_disk(artifact) >= single - 1024  # weights counted, though in a .data file
    assert external.stat().st_size < single / 2
    assert count_params(artifact) == count_params(MLP())


def test_latency_states_median_batch_and_threads() -> None:
    result = latency_ms(MLP().eval(), torch.randn(4, 1, 8, 8), repeats=5)
    assert result["batch"] == 4
    assert result["threads"] == torch.get_num_threads()
    assert result["median_ms"] > 0
    assert result["runtime"] == "torch"


def test_analyze_torch_and_onnx_side_by_side(tmp_path: Path) -> None:
    model = TinyResNet().eval()
    x = torch.randn(2, 1, 8, 8)
    torch_result = analyze(model, x, batches=(1, 4), repeats=3)
    onnx_result = analyze(export_onnx(model, x, tmp_path / "r.onnx"), x, batches=(1,), repeats=3)
    assert torch_result["macs"] > 0
    assert set(torch_result["latency"]) == {"1", "4"}
    assert onnx_result["latency"]["1"]["runtime"] == "onnxruntime"
    assert abs(onnx_result["params"] - torch_result["params"]) < 0.02 * torch_result["params"]


def test_compare_latency_times_both_in_alternation_and_finds_the_faster() -> None:
    deep = torch.nn.Sequential(*[torch.nn.Linear(256, 256) for _ in range(8)]).eval()
    shallow = torch.nn.Linear(256, 256).eval()
    result = compare_latency(deep, shallow, torch.randn(64, 256), rounds=5)
    assert result["rounds"] == 5
    assert result["before_ms"] > result["after_ms"]
    assert result["speedup"] > 2  # eight layers against one
    assert result["batch"] == 64
