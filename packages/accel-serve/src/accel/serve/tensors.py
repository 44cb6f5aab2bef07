"""A served model's inputs and outputs: names, Open Inference Protocol datatypes and shapes.

A dimension is an int (fixed) or None (any size, what ONNX calls a symbolic dimension and a
`torch.export` program a dynamic one). The first dimension is the batch when it is dynamic:
then requests are stacked along it. Metadata writes a dynamic dimension as -1 (the protocol's
convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# Open Inference Protocol (KServe V2) datatype -> numpy dtype
DATATYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
}
BY_NUMPY = {dtype: name for name, dtype in DATATYPES.items()}
# ONNX Runtime's type strings, torch's dtype names -> datatype
ORT_TYPES = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
}
TORCH_TYPES = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
}
Dim = int | None


@dataclass(frozen=True, kw_only=True)
class TensorSpec:
    """One named tensor of a model: its datatype and shape (None: any size)."""

    name: str
    datatype: str
    shape: tuple[Dim, ...]

    @property
    def dtype(self) -> np.dtype[Any]:
        return DATATYPES[self.datatype]

    @property
    def batched(self) -> bool:
        """Whether requests can be stacked along the first dimension."""
        return bool(self.shape) and self.shape[0] is None

    def shape_text(self) -> str:
        return "[" + ", ".join("-1" if d is None else str(d) for d in self.shape) + "]"

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "datatype": self.datatype,
            "shape": [-1 if d is None else d for d in self.shape],
        }

    def fits(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == len(self.shape) and all(
            want is None or want == got for want, got in zip(self.shape, shape, strict=True)
        )

    def example(self, rows: int = 1) -> np.ndarray:
        """Zeros of this spec's shape (dynamic sizes 1, the batch `rows`): a warm-up input."""
        sizes = [rows if i == 0 and d is None else (d or 1) for i, d in enumerate(self.shape)]
        return np.zeros(sizes, dtype=self.dtype)

    def guessed_dims(self) -> bool:
        """Whether `example` had to guess a dynamic size other than the batch."""
        return any(d is None for d in self.shape[1:])


def elements(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def datatype_of(dtype: np.dtype[Any]) -> str:
    """The protocol datatype of a numpy dtype (float32 for anything floating it lacks)."""
    name = BY_NUMPY.get(np.dtype(dtype))
    if name is None:
        return "FP32" if np.dtype(dtype).kind == "f" else "FP64"
    return name


def output_tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    """An output array as the protocol's JSON tensor (data flattened in row-major order)."""
    array = np.asarray(array)
    if array.dtype not in BY_NUMPY:
        array = array.astype(np.float32)
    return {
        "name": name,
        "datatype": datatype_of(array.dtype),
        "shape": list(array.shape),
        "data": array.ravel().tolist(),
    }
