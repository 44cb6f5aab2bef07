"""Real data for calibration and evaluation: from a registered dataset, a folder or a tensor file.

Batches are tensors of inputs or `(inputs, targets)` pairs; `inputs_of` takes either.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from accel.core.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def inputs_of(batch: Any) -> torch.Tensor:
    """The input tensor of a batch: the batch itself, its first item, or its `inputs` entry."""
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, dict):
        for key in ("inputs", "input", "x", "image", "images"):
            if key in batch:
                return batch[key]
    if isinstance(batch, list | tuple) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0]
    raise ConfigError(
        f"cannot find the inputs in a batch of type {type(batch).__name__}: "
        "use tensors, (inputs, targets) pairs or dicts with an 'inputs' key"
    )


def targets_of(batch: Any) -> torch.Tensor:
    """The targets of an `(inputs, targets)` batch (or a dict with `targets`/`labels`)."""
    if isinstance(batch, dict):
        for key in ("targets", "target", "labels", "label", "y"):
            if key in batch:
                return batch[key]
    if isinstance(batch, list | tuple) and len(batch) >= 2:
        return batch[1]
    raise ConfigError("evaluation needs (inputs, targets) batches: this data has no labels")


def take_inputs(data: Iterable[Any] | None, limit: int | None = None) -> list[torch.Tensor]:
    """Up to `limit` input batches of `data` (all when limit is None)."""
    if data is None:
        return []
    return [inputs_of(b) for b in itertools.islice(iter(data), limit)]


def batches(inputs: torch.Tensor, targets: torch.Tensor | None, size: int) -> list[Any]:
    """Split tensors into batches (pairs when targets are given)."""
    parts = inputs.split(size)
    if targets is None:
        return list(parts)
    return list(zip(parts, targets.split(size), strict=True))


def load_data(source: str, *, split: str, batch_size: int = 32, input_shape: Any = None) -> Any:
    """Batches from a `.npy`/`.npz`/`.pt` file, a folder of images, or a registered dataset name.

    `split` is `train`, `val` or `test` (used for registered datasets).
    """
    path = Path(source)
    if path.suffix in (".npy", ".npz", ".pt", ".pth"):
        if not path.is_file():
            raise ConfigError(f"data file {path} does not exist")
        return batches(*load_tensor_file(path), batch_size)
    if path.is_dir():
        return batches(load_image_folder(path, input_shape), None, batch_size)
    return load_registered(source, split)


def load_tensor_file(path: Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Inputs (and labels) from `.npy` (inputs), `.npz` (`x`, `y`) or `.pt` (tensor or dict)."""
    import numpy as np

    if path.suffix == ".npy":
        return torch.from_numpy(np.load(path, allow_pickle=False)).float(), None
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            x = archive["x"] if "x" in archive else archive[archive.files[0]]
            y = archive.get("y", None)
        return torch.from_numpy(x).float(), None if y is None else torch.from_numpy(y)
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, torch.Tensor):
        return obj.float(), None
    if isinstance(obj, dict):
        x = obj.get("inputs", obj.get("x"))
        y = obj.get("labels", obj.get("targets", obj.get("y")))
        if isinstance(x, torch.Tensor):
            return x.float(), y
    if isinstance(obj, list | tuple) and len(obj) == 2:
        return obj[0].float(), obj[1]
    raise ConfigError(
        f"data file {path}: expected a tensor, a (inputs, labels) pair or a dict with 'inputs' "
        "and 'labels'"
    )


def load_image_folder(path: Path, input_shape: Any) -> torch.Tensor:
    """Every image under `path`, resized to `input_shape` (N,C,H,W) and scaled to [0, 1]."""
    import numpy as np
    from PIL import Image

    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    if input_shape is None or len(input_shape) != 4:
        raise ConfigError("a folder of images needs --input-shape N,C,H,W to resize them")
    _, channels, height, width = input_shape
    mode = "L" if channels == 1 else "RGB"
    arrays = [
        np.asarray(Image.open(f).convert(mode).resize((width, height)), dtype=np.float32)
        for f in files
    ]
    stacked = torch.from_numpy(np.stack(arrays)) / 255.0
    return stacked.unsqueeze(1) if channels == 1 else stacked.permute(0, 3, 1, 2)


def load_registered(name: str, split: str) -> Any:
    """A split of a dataset registered in `accel.datasets` (a DataModule)."""
    from accel.core.registry import registry

    datasets = registry("datasets")
    if name not in datasets:
        raise ConfigError(
            f"data '{name}' is not a .npy/.npz/.pt file, a folder of images, nor a registered "
            f"dataset (registered: {', '.join(datasets.names()) or 'none'})"
        )
    module = datasets.build(name)
    loader = getattr(module, f"{split}_dataloader")()
    if loader is None:
        loader = module.val_dataloader() if split == "test" else module.train_dataloader()
    return loader
