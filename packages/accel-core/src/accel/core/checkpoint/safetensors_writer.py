"""Write a safetensors file one tensor at a time.

`safetensors.torch.save_file` turns every tensor into bytes before writing, so a checkpoint
briefly holds a second copy of the whole model and optimizer in host memory. This writer
streams each tensor's buffer straight to the file (one device-to-host copy at a time); the
file is standard safetensors and is read back with `safetensors.torch.load_file`.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Mapping
from typing import IO

import torch
from safetensors.torch import save_file

DTYPES: dict[torch.dtype, str] = {
    torch.bool: "BOOL",
    torch.uint8: "U8",
    torch.int8: "I8",
    torch.int16: "I16",
    torch.int32: "I32",
    torch.int64: "I64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float32: "F32",
    torch.float64: "F64",
}


def write_safetensors(
    path: str, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]
) -> None:
    """Write `tensors` to `path` in the safetensors format, streaming tensor by tensor."""
    if sys.byteorder != "little" or any(t.dtype not in DTYPES for t in tensors.values()):
        save_file(dict(tensors), path, metadata=dict(metadata))  # the library handles the rest
        return
    header: dict[str, object] = {"__metadata__": dict(metadata)}
    offset = 0
    for name, tensor in tensors.items():
        size = tensor.numel() * tensor.element_size()
        header[name] = {
            "dtype": DTYPES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for tensor in tensors.values():
            _write_tensor(handle, tensor)


def _write_tensor(handle: IO[bytes], tensor: torch.Tensor) -> None:
    if tensor.numel() == 0:
        return
    host = tensor.detach().to("cpu").contiguous().reshape(-1)
    handle.write(host.view(torch.uint8).numpy().data)  # the buffer itself: no copy
