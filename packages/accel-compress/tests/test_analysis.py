"""Parameters, MACs, size on disk (incl. ONNX external data) and latency of every artifact kind,
through accel-core's counters and timer."""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from compress_models import MLP, TinyResNet
from torch import nn

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
from accel.compress.passes.quantize_torch import quantize_pt2e, quantize_torchao

MLP_WEIGHTS = 64 * 128 + 128 * 64 + 64 * 10  # one MAC per weight and sample


def test_params_and_macs_of_an_mlp() -> None:
    model = MLP()
    assert count_params(model) == MLP_WEIGHTS + 128 + 64 + 10
    assert count_macs(model, torch.randn(1, 1, 8, 8)) == MLP_WEIGHTS
    assert count_macs(model, torch.randn(4, 1, 8, 8)) == MLP_WEIGHTS  # counted at batch 1


def test_torchao_int8_keeps_the_macs_and_quarters_the_size() -> None:
    model = MLP().eval()
    float_size = size_on_disk(model)
    quantized = quantize_torchao(model, compile=False)
    assert count_macs(quantized, torch.randn(1, 1, 8, 8)) == MLP_WEIGHTS  # int8 matmuls count
    assert count_params(quantized) == MLP_WEIGHTS + 128 + 64 + 10
    assert size_on_disk(quantized) < 0.3 * float_size  # int8 data and scales, not float copies


def test_a_pt2e_int8_graph_counts_its_int8_weights_and_the_float_macs() -> None:
    model, x = TinyResNet().eval(), torch.randn(4, 1, 8, 8)
    quantized = quantize_pt2e(model, x, [x], 1, compile=False)
    layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    weights = sum(p.numel() for m in layers for p in m.parameters())
    folded = sum(m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert count_params(quantized) == weights + folded  # int8 weights, a bias per folded BN
    assert count_macs(quantized, x) == count_macs(model, x)


def test_a_module_s_size_is_the_bytes_of_its_weights() -> None:
    model = TinyResNet()
    tensors = model.state_dict().values()
    assert size_on_disk(model) == sum(t.numel() * t.element_size() for t in tensors)


def test_a_program_exported_at_a_fixed_batch_of_four_counts_macs_per_sample() -> None:
    program = torch.export.export(MLP().eval(), (torch.randn(4, 1, 8, 8),)).module()
    assert count_macs(program, torch.randn(4, 1, 8, 8)) == MLP_WEIGHTS  # its batch's, over 4
    assert count_macs(program, torch.randn(3, 1, 8, 8)) is None  # it refuses any other batch
    dynamic = torch.export.export(
        MLP().eval(), (torch.randn(4, 1, 8, 8),), dynamic_shapes=({0: torch.export.Dim("b")},)
    )
    assert count_macs(dynamic.module(), torch.randn(4, 1, 8, 8)) == MLP_WEIGHTS


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


def test_latency_states_median_batch_threads_and_load() -> None:
    result = latency_ms(MLP().eval(), torch.randn(4, 1, 8, 8), repeats=5)
    assert result["batch"] == 4
    assert result["threads"] == torch.get_num_threads()
    assert 0 < result["min_ms"] <= result["median_ms"] <= result["max_ms"]
    assert result["repeats"] == 5
    assert result["warmup"] >= 2  # at least the calls asked for, for at least WARMUP_S
    assert result["cpu_ms"] > 0
    assert "load_average" in result
    assert result["runtime"] == "torch"


def test_analyze_torch_and_onnx_side_by_side(tmp_path: Path) -> None:
    model = TinyResNet().eval()
    x = torch.randn(2, 1, 8, 8)
    torch_result = analyze(model, x, batches=(1, 4), repeats=3)
    onnx_result = analyze(export_onnx(model, x, tmp_path / "r.onnx"), x, batches=(1,), repeats=3)
    # convs: stem 16*64*9, layer1 2 * 16*64*144, layer2 32*16*144 + 32*16*288 + 32*16*16; fc 320
    assert torch_result["macs"] == 9_216 + 2 * 147_456 + 73_728 + 147_456 + 8_192 + 320
    assert torch_result["size_bytes"] == size_on_disk(model)
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
    assert result["threads"] == torch.get_num_threads()
