"""The streaming safetensors writer produces files the safetensors library reads back exactly."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from accel.core.checkpoint.safetensors_writer import write_safetensors


def test_every_dtype_shape_and_layout_round_trips(tmp_path: Path) -> None:
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    tensors = {
        "f32": base,
        "transposed": base.t(),  # not contiguous
        "view": base[1:3],  # shares storage with f32
        "bf16": base.to(torch.bfloat16),
        "f16": base.to(torch.float16),
        "f64": base.double(),
        "i64": torch.tensor([-(2**40), 3]),
        "i8": torch.tensor([-3, 4], dtype=torch.int8),
        "u8": torch.tensor([250, 1], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(7.5),
        "empty": torch.zeros(0, 3),
    }
    path = tmp_path / "t.safetensors"
    write_safetensors(str(path), tensors, {"format": "x"})
    loaded = load_file(str(path))
    assert loaded.keys() == tensors.keys()
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.dtype, name
        assert torch.equal(loaded[name], tensor), name
    with safe_open(str(path), "pt") as handle:
        assert handle.metadata() == {"format": "x"}


def test_header_is_eight_byte_aligned_json(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors(str(path), {"a": torch.ones(3)}, {})
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    assert size % 8 == 0
    assert json.loads(raw[8 : 8 + size])["a"] == {
        "dtype": "F32",
        "shape": [3],
        "data_offsets": [0, 12],
    }
    assert len(raw) == 8 + size + 12
