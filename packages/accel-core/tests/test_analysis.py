"""Parameters, MACs and bytes of real tiny models, checked against numbers worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from accel.core.analysis import count_macs, count_parameters, file_bytes, state_bytes, trace_macs

CONV_MACS = 4 * 6 * 6 * (2 * 3 * 3)  # 4 output maps of 6x6, each value 2 channels x 3x3 taps
FC_MACS = (4 * 6 * 6) * 5
CONV_PARAMS = 4 * 2 * 3 * 3 + 4
FC_PARAMS = 4 * 6 * 6 * 5 + 5


class ConvNet(nn.Module):
    """Conv2d(2 -> 4, 3x3, same padding) on 2x6x6, ReLU, then Linear(144 -> 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.conv(x)))


class Tied(nn.Module):
    """An embedding and an output layer sharing one weight (as language models do)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(tokens))


def test_macs_of_a_conv_and_a_linear_layer_are_the_hand_count() -> None:
    assert count_macs(ConvNet(), torch.randn(1, 2, 6, 6)) == CONV_MACS + FC_MACS


def test_macs_grow_with_the_batch() -> None:
    assert count_macs(ConvNet(), torch.randn(3, 2, 6, 6)) == 3 * (CONV_MACS + FC_MACS)


def test_macs_per_module_include_children_and_name_the_whole_model_empty() -> None:
    counted = trace_macs(ConvNet(), torch.randn(1, 2, 6, 6))
    assert counted.by_module == {
        "": CONV_MACS + FC_MACS,
        "conv": CONV_MACS,
        "act": 0,
        "head": FC_MACS,
        "head.0": 0,
        "head.1": FC_MACS,
    }
    assert counted.total == CONV_MACS + FC_MACS


def test_matmul_outside_any_layer_counts_toward_the_whole_model() -> None:
    class Bilinear(nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a @ b

    counted = trace_macs(Bilinear(), (torch.randn(3, 4), torch.randn(4, 5)))
    assert counted.total == 3 * 4 * 5
    assert counted.by_module == {"": 3 * 4 * 5}


def test_an_exported_program_has_the_macs_of_its_module() -> None:
    x = torch.randn(2, 2, 6, 6)
    program = torch.export.export(ConvNet().eval(), (x,))
    assert count_macs(program.module(), x) == 2 * (CONV_MACS + FC_MACS)
    assert count_parameters(program.module()) == CONV_PARAMS + FC_PARAMS


def test_parameters_count_every_weight_and_bias() -> None:
    model = ConvNet()
    assert count_parameters(model) == CONV_PARAMS + FC_PARAMS
    model.conv.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == FC_PARAMS
    assert count_parameters(model) == CONV_PARAMS + FC_PARAMS


def test_tied_weights_count_once_in_parameters_and_bytes() -> None:
    model = Tied()
    assert len(model.state_dict()) == 2  # both names are saved...
    assert count_parameters(model) == 10 * 4
    assert state_bytes(model) == 10 * 4 * 4  # ...but the memory is one tensor's


def test_int8_buffers_are_weights_and_a_model_without_parameters_counts_its_buffers() -> None:
    model = ConvNet()
    model.register_buffer("packed", torch.zeros(7, dtype=torch.int8))
    model.register_buffer("steps", torch.zeros(3, dtype=torch.int64))
    assert count_parameters(model) == CONV_PARAMS + FC_PARAMS + 7
    graph = nn.Module()
    graph.register_buffer("weight", torch.zeros(6, 2))
    assert count_parameters(graph) == 12


def test_state_bytes_are_the_state_dicts_tensors() -> None:
    model = nn.Sequential(nn.Conv2d(1, 3, 1), nn.BatchNorm2d(3))
    model.register_buffer("scratch", torch.zeros(1000), persistent=False)  # not saved
    floats = (3 + 3) + (3 + 3 + 3 + 3)  # conv weight, bias; BN weight, bias, mean, var
    assert state_bytes(model) == floats * 4 + 8  # num_batches_tracked is one int64
    assert state_bytes(model.half()) == floats * 2 + 8


def test_int8_tensor_subclasses_are_sized_by_the_tensors_they_hold() -> None:
    quantization = pytest.importorskip("torchao.quantization")
    model = nn.Sequential(nn.Linear(64, 32, bias=False)).eval()
    quantization.quantize_(model, quantization.Int8DynamicActivationInt8WeightConfig())
    # int8 data (one byte per weight), one float scale per output row, maybe a zero point each
    assert 64 * 32 + 32 * 4 <= state_bytes(model) <= 64 * 32 + 32 * 4 * 3
    assert count_macs(model, torch.randn(1, 64)) == 64 * 32  # its int8 matmul is counted


def test_file_bytes_count_each_file_once_and_a_folder_by_its_files(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"x" * 300)
    (tmp_path / "model" / "deep").mkdir()
    (tmp_path / "model" / "deep" / "data").write_bytes(b"y" * 20)
    single = tmp_path / "model.onnx"
    single.write_bytes(b"z" * 5)
    assert file_bytes([single]) == 5
    assert file_bytes([tmp_path / "model", single, single]) == 325
    assert file_bytes([tmp_path / "model", tmp_path / "model" / "weights.bin"]) == 320


def test_a_missing_file_is_an_error_not_zero_bytes(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"gone\.onnx"):
        file_bytes([tmp_path / "gone.onnx"])
