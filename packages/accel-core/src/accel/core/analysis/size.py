"""Bytes of a model: of the weights a checkpoint of it holds, or of the files it is saved in."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn


def state_bytes(model: nn.Module) -> int:
    """Bytes of `model`'s state dict (parameters and persistent buffers): what a file of its
    weights holds, without the file's header. A tensor that shares storage with another
    (tied weights) counts once; a tensor subclass (torchao's int8 weights) counts the plain
    tensors it is made of (int8 data, scales), which is what is stored."""
    tensors = [
        plain
        for value in model.state_dict(keep_vars=True).values()
        if isinstance(value, torch.Tensor)
        for _, plain in plain_tensors("", value)
    ]
    unique = {_view_key(t): t.numel() * t.element_size() for t in tensors}
    return sum(unique.values())


def plain_tensors(name: str, value: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """The plain tensors a tensor subclass is made of, named `name.attr...`; a plain tensor
    is itself. Follows `__tensor_flatten__`, the protocol traceable subclasses implement."""
    flatten = getattr(value, "__tensor_flatten__", None)
    if flatten is None:
        return [(name, value)]
    attributes, _ = flatten()
    return [
        pair
        for attr in attributes
        for pair in plain_tensors(f"{name}.{attr}" if name else attr, getattr(value, attr))
    ]


def file_bytes(paths: Iterable[str | os.PathLike[str]]) -> int:
    """Bytes of the files at `paths` (a folder: every file under it), each file once."""
    files = {file.resolve() for path in map(Path, paths) for file in _files_in(path)}
    return sum(file.stat().st_size for file in files)


def _files_in(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]


def _view_key(tensor: torch.Tensor) -> tuple[object, ...]:
    """The same key for two tensors that are the same view of the same memory."""
    pointer = tensor.untyped_storage().data_ptr()
    if pointer == 0:  # no memory to share (meta, empty): the tensor object itself
        return (id(tensor),)
    return (pointer, tensor.storage_offset(), tuple(tensor.shape), tensor.stride(), tensor.dtype)
