"""Real data for calibration and evaluation: from a registered dataset, a folder or a tensor file.

Batches are tensors of inputs or `(inputs, targets)` pairs; `inputs_of` takes either.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
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

    `split` is `train`, `val` or `test` (used for registered datasets). A file is checked
    before it is used (empty, non-numeric, NaN/inf, mismatched or invalid labels: one line).
    """
    path = Path(source)
    if path.suffix in (".npy", ".npz", ".pt", ".pth"):
        if not path.is_file():
            raise ConfigError(f"data file {path} does not exist")
        x, y = load_tensor_file(path)
        return batches(*check_tensors(x, y, path), batch_size)
    if path.is_dir():
        return batches(load_image_folder(path, input_shape), None, batch_size)
    return load_registered(source, split)


def load_tensor_file(path: Path) -> tuple[Any, Any]:
    """Inputs (and labels) from `.npy` (inputs), `.npz` (`x`, `y`) or `.pt` (tensor or dict),
    as read (arrays or tensors); `check_tensors` checks them. Never unpickles."""
    try:
        if path.suffix == ".npy":
            return read_npy(path), None
        if path.suffix == ".npz":
            return read_npz(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol note is not the user's
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except ConfigError:
        raise
    except Exception as error:  # numpy's and torch's errors for bad files: one line
        if "Weights only load failed" in str(error):
            raise ConfigError(
                f"data file {path} holds more than tensors (reading it would need a full "
                "pickle, which can run code): save a tensor, an (inputs, labels) pair or a dict "
                "of tensors"
            ) from None
        text = " ".join(str(error).split())[:200] or type(error).__name__
        raise ConfigError(f"data file {path} is unreadable ({text})") from None
    return tensors_of(obj, path)


def read_npy(path: Path) -> Any:
    import numpy as np

    return np.load(path, allow_pickle=False)


def read_npz(path: Path) -> tuple[Any, Any]:
    import numpy as np

    with np.load(path, allow_pickle=False) as archive:
        if "x" not in archive.files:
            raise ConfigError(
                f"data file {path} has no array 'x' (it holds: "
                f"{', '.join(archive.files) or 'nothing'}): save inputs as x= and labels as "
                "y=, e.g. np.savez(path, x=x, y=y)"
            )
        return archive["x"], archive["y"] if "y" in archive.files else None


def tensors_of(obj: Any, path: Path) -> tuple[Any, Any]:
    """(inputs, labels) from what a `.pt` file held."""
    if isinstance(obj, torch.Tensor):
        return obj, None
    if isinstance(obj, dict):
        x = obj.get("inputs", obj.get("x"))
        y = obj.get("labels", obj.get("targets", obj.get("y")))
        if isinstance(x, torch.Tensor) and (y is None or isinstance(y, torch.Tensor)):
            return x, y
    if isinstance(obj, list | tuple) and len(obj) == 2 and all(torch.is_tensor(t) for t in obj):
        return obj[0], obj[1]
    raise ConfigError(
        f"data file {path}: expected a tensor, a (inputs, labels) pair or a dict with 'inputs' "
        "and 'labels'"
    )


def check_tensors(x: Any, y: Any, path: Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Float inputs and int64 labels, or a one-line ConfigError naming the file and the fault."""
    inputs = check_inputs(x, path)
    if y is None:
        return inputs, None
    labels = check_labels(y, path)
    if len(labels) != len(inputs):
        raise ConfigError(
            f"data file {path}: {len(inputs)} inputs but {len(labels)} labels: expected one "
            "label per sample"
        )
    return inputs, labels


def numeric_kind(value: Any) -> str:
    """numpy's kind letter of an array's or a tensor's dtype (f, i, u, b, c, U, O, ...)."""
    if isinstance(value, np.ndarray):
        return str(value.dtype.kind)
    if value.is_complex():
        return "c"
    if value.dtype == torch.bool:
        return "b"
    return "f" if value.is_floating_point() else "i"


def check_inputs(x: Any, path: Path) -> torch.Tensor:
    if numeric_kind(x) not in "fiu":
        raise ConfigError(
            f"data file {path}: inputs of type {x.dtype} are not numbers: expected float or "
            "integer values"
        )
    if x.ndim < 2 or x.shape[0] == 0 or 0 in x.shape:
        raise ConfigError(
            f"data file {path}: inputs of shape {tuple(x.shape)}: expected a non-empty array of "
            "samples, shape (N, ...) with N >= 1"
        )
    tensor = torch.from_numpy(x.astype(np.float32)) if isinstance(x, np.ndarray) else x.float()
    if not bool(torch.isfinite(tensor).all()):
        raise ConfigError(f"data file {path}: inputs hold NaN or infinite values")
    return tensor


def check_labels(y: Any, path: Path) -> torch.Tensor:
    kind = numeric_kind(y)
    labels = None
    if kind in "fiu" and y.ndim == 1:
        labels = torch.from_numpy(y.astype(np.float64)) if isinstance(y, np.ndarray) else y.double()
    if labels is None or not bool((torch.isfinite(labels) & (labels == labels.round())).all()):
        raise ConfigError(
            f"data file {path}: labels of shape {tuple(y.shape)} and type {y.dtype}: expected "
            "one whole-number class index per sample"
        )
    if len(labels) and float(labels.min()) < 0:
        raise ConfigError(
            f"data file {path}: label {int(labels.min())} is negative: classes are 0..C-1"
        )
    return labels.long()


def check_classes(data: Any, classes: int, key: str) -> None:
    """Every label in `data` (a list of batches read from a file) is below the model's output
    width `classes`; a label outside is one line naming `key` and the valid range."""
    if not isinstance(data, list):
        return  # a registered dataset's loader: its own business
    labels = [targets_of(b) for b in data if isinstance(b, list | tuple)]
    if not labels:
        return
    top = int(torch.cat(labels).max())
    if top >= classes:
        raise ConfigError(
            f"{key}: label {top} is outside the model's {classes} classes (valid labels: "
            f"0..{classes - 1})"
        )


def load_image_folder(path: Path, input_shape: Any) -> torch.Tensor:
    """Every image under `path`, resized to `input_shape` (N,C,H,W) and scaled to [0, 1]."""
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    if input_shape is None or len(input_shape) != 4:
        raise ConfigError("a folder of images needs --input-shape N,C,H,W to resize them")
    _, channels, height, width = input_shape
    if channels not in (1, 3):
        raise ConfigError(
            f"--input-shape: a folder of images gives 1 or 3 channels, not {channels}"
        )
    mode = "L" if channels == 1 else "RGB"
    stacked = torch.from_numpy(np.stack([read_image(f, mode, (width, height)) for f in files]))
    stacked = stacked / 255.0
    return stacked.unsqueeze(1) if channels == 1 else stacked.permute(0, 3, 1, 2)


def read_image(path: Path, mode: str, size: tuple[int, int]) -> Any:
    """One image as a float32 array, or a one-line error naming the file."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert(mode).resize(size), dtype=np.float32)
    except Exception as error:
        text = " ".join(str(error).split())[:160] or type(error).__name__
        raise ConfigError(f"image {path} is unreadable ({text})") from None


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
