"""Turn nested training state into JSON + a flat dict of tensors, and back, without pickle.

Tensors and numpy arrays become references into the tensor file; tuples, dicts with non-string
keys (an optimizer's `{0: {...}}`) and non-finite floats are tagged so they round-trip exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from accel.core.errors import AccelError

TENSOR, ARRAY, TUPLE, ITEMS, FLOAT = (
    "__tensor__",
    "__ndarray__",
    "__tuple__",
    "__items__",
    "__float__",
)


class CheckpointError(AccelError):
    """A checkpoint cannot be written, read, or does not fit what it is loaded into."""


class TensorStore:
    """Collects tensors under unique keys (no copies: the writer streams each one)."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}

    def add(self, key: str, tensor: torch.Tensor) -> str:
        self.tensors[key] = tensor.detach()
        return key


def encode(value: Any, key: str, store: TensorStore) -> Any:
    """A JSON-able form of `value`, its tensors added to `store` under `key`-based names."""
    if isinstance(value, torch.Tensor):
        return {TENSOR: store.add(key, value)}
    if isinstance(value, np.ndarray):
        tensor = torch.from_numpy(value.astype(np.int64) if value.dtype.kind == "u" else value)
        return {ARRAY: store.add(key, tensor), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {FLOAT: repr(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple):
        return {TUPLE: [encode(v, _join(key, i), store) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode(v, _join(key, i), store) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {k: encode(v, _join(key, k), store) for k, v in value.items()}
        return {
            ITEMS: [
                [encode(k, key, store), encode(v, _join(key, k), store)] for k, v in value.items()
            ]
        }
    raise CheckpointError(
        f"cannot store {key} of type {type(value).__name__} in a checkpoint: use tensors, "
        "numbers, strings, lists, tuples or dicts"
    )


def _join(key: str, part: object) -> str:
    return f"{key}.{part}" if key else str(part)


def decode(value: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The inverse of `encode`, given the loaded tensors."""
    if isinstance(value, list):
        return [decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if TENSOR in value:
        return _tensor(tensors, value[TENSOR])
    if ARRAY in value:
        return _tensor(tensors, value[ARRAY]).numpy().astype(value["dtype"])
    if FLOAT in value:
        return float(value[FLOAT])
    if TUPLE in value:
        return tuple(decode(v, tensors) for v in value[TUPLE])
    if ITEMS in value:
        return {decode(k, tensors): decode(v, tensors) for k, v in value[ITEMS]}
    return {k: decode(v, tensors) for k, v in value.items()}


def _tensor(tensors: Mapping[str, torch.Tensor], key: str) -> torch.Tensor:
    try:
        return tensors[key]
    except KeyError:
        raise CheckpointError(
            f"checkpoint manifest refers to tensor {key!r}, which is missing"
        ) from None
