"""Real data for calibration and evaluation: from a registered dataset, a folder or a tensor file.

A batch's inputs are one tensor or, for a model with several inputs, a tuple of them in the
order its forward takes them (`accel.compress.signature`). Batches are inputs alone, `(inputs,
targets)` pairs, or dicts with `inputs` (and `targets`); `inputs_of` and `targets_of` take any.
An `.npz` or `.pt` dict of several named arrays maps each name to the forward argument of that
name: `np.savez("tokens.npz", input_ids=ids, attention_mask=mask)`.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from accel.compress.signature import Inputs, batch_size
from accel.core.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
INPUT_KEYS = ("inputs", "input", "x", "image", "images")
LABEL_KEYS = ("y", "labels", "label", "targets", "target")
Dtypes = Sequence[torch.dtype | None] | None


def inputs_of(batch: Any) -> Inputs:
    """The inputs of a batch: the batch itself, its first item, or its `inputs` entry (one
    tensor, or a tuple of them for a model with several inputs)."""
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, dict):
        for key in INPUT_KEYS:
            if key in batch:
                value = batch[key]
                return tuple(value) if isinstance(value, list) else value
    if isinstance(batch, list | tuple) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0]
    raise ConfigError(
        f"cannot find the inputs in a batch of type {type(batch).__name__}: "
        "use tensors, (inputs, targets) pairs or dicts with an 'inputs' key"
    )


def targets_of(batch: Any) -> torch.Tensor:
    """The targets of an `(inputs, targets)` batch (or a dict with `targets`/`labels`)."""
    if isinstance(batch, dict):
        for key in LABEL_KEYS:
            if key in batch:
                return batch[key]
    if isinstance(batch, list | tuple) and len(batch) >= 2:
        return batch[1]
    raise ConfigError("evaluation needs (inputs, targets) batches: this data has no labels")


def has_labels(batch: Any) -> bool:
    """Whether a batch carries targets (a pair, or a dict with a label key)."""
    if isinstance(batch, dict):
        return any(key in batch for key in LABEL_KEYS)
    return isinstance(batch, list | tuple) and len(batch) >= 2


def take_inputs(data: Iterable[Any] | None, limit: int | None = None) -> list[Inputs]:
    """Up to `limit` input batches of `data` (all when limit is None)."""
    if data is None:
        return []
    return [inputs_of(b) for b in itertools.islice(iter(data), limit)]


def batches(inputs: Inputs, targets: torch.Tensor | None, size: int) -> list[Any]:
    """Split tensors into batches: inputs alone, or pairs when targets are given; several
    inputs as dicts `{"inputs": (a, b)}` (with `"targets"`), never mistaken for a pair."""
    if not isinstance(inputs, tuple):
        parts = inputs.split(size)
        if targets is None:
            return list(parts)
        return list(zip(parts, targets.split(size), strict=True))
    split = list(zip(*(t.split(size) for t in inputs), strict=True))
    if targets is None:
        return [{"inputs": tuple(p)} for p in split]
    return [
        {"inputs": tuple(p), "targets": y} for p, y in zip(split, targets.split(size), strict=True)
    ]


def load_data(
    source: str,
    *,
    split: str,
    batch_size: int = 32,
    input_shape: Any = None,
    names: Sequence[str] | None = None,
    dtypes: Dtypes = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Any:
    """Batches from a `.npy`/`.npz`/`.pt` file, a folder of images, or a registered dataset name.

    `split` is `train`, `val` or `test` (used for registered datasets). A file is checked
    before it is used (empty, non-numeric, NaN/inf, mismatched or invalid labels: one line).
    `names` are the model's inputs (named arrays are put in their order); `dtypes` what each
    input is read as: None makes every input float32 (images saved as integers), a sequence
    gives input i's dtype (an entry None, or past its end: integers int64, floats float32).
    `mean`/`std` normalise images read from a folder (after scaling them to [0, 1]); other
    data is used as it is, so they are refused for it.
    """
    path = Path(source)
    if (mean is not None or std is not None) and not path.is_dir():
        raise ConfigError(
            f"--mean/--std normalise images read from a folder; {source} is used as it is "
            "(save it normalised, or give a folder of images)"
        )
    if path.suffix in (".npy", ".npz", ".pt", ".pth"):
        if not path.is_file():
            raise ConfigError(f"data file {path} does not exist")
        x, y = load_tensor_file(path)
        return batches(*check_tensors(x, y, path, names, dtypes), batch_size)
    if path.is_dir():
        images = normalized(load_image_folder(path, input_shape), mean, std)
        return batches(images, None, batch_size)
    return load_registered(source, split)


def load_tensor_file(path: Path) -> tuple[Any, Any]:
    """Inputs (and labels) from `.npy` (inputs), `.npz` (`x`, `y`, or named inputs) or `.pt`
    (tensor or dict), as read (arrays or tensors; named inputs as a dict); `check_tensors`
    checks them. Never unpickles."""
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
    return np.load(path, allow_pickle=False)


def read_npz(path: Path) -> tuple[Any, Any]:
    """`x` (and `y`), or every array that is not a label as a named input."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return split_named(arrays, path)


def split_named(arrays: dict[str, Any], path: Path) -> tuple[Any, Any]:
    """(inputs, labels) of a file's named arrays: `x` alone is the one input; otherwise
    every array but the labels (`y`, `labels`, ...) is an input named after its key."""
    labels = next((arrays[k] for k in LABEL_KEYS if k in arrays), None)
    inputs = {k: v for k, v in arrays.items() if k not in LABEL_KEYS}
    if "x" in inputs and len(inputs) == 1:
        return inputs["x"], labels
    if not inputs:
        raise ConfigError(
            f"data file {path} has no array 'x' nor named inputs (it holds: "
            f"{', '.join(arrays) or 'nothing'}): save inputs as x= and labels as y=, e.g. "
            "np.savez(path, x=x, y=y), or one array per model input, e.g. "
            "np.savez(path, input_ids=ids, attention_mask=mask)"
        )
    return inputs, labels


def tensors_of(obj: Any, path: Path) -> tuple[Any, Any]:
    """(inputs, labels) from what a `.pt` file held."""
    if isinstance(obj, torch.Tensor):
        return obj, None
    if isinstance(obj, dict) and obj and all(torch.is_tensor(v) for v in obj.values()):
        x = next((obj[k] for k in ("inputs", "x") if k in obj), None)
        if x is not None:
            return x, next((obj[k] for k in ("labels", "targets", "y") if k in obj), None)
        return split_named(dict(obj), path)
    if isinstance(obj, list | tuple) and len(obj) == 2 and all(torch.is_tensor(t) for t in obj):
        return obj[0], obj[1]
    raise ConfigError(
        f"data file {path}: expected a tensor, a (inputs, labels) pair, a dict with 'inputs' "
        "and 'labels', or a dict of named input tensors"
    )


def check_tensors(
    x: Any, y: Any, path: Path, names: Sequence[str] | None = None, dtypes: Dtypes = None
) -> tuple[Inputs, torch.Tensor | None]:
    """Inputs of the dtypes asked for (named inputs in the model's order) and int64 labels, or
    a one-line ConfigError naming the file and the fault."""
    arrays = order_named(x, names, path) if isinstance(x, dict) else [x]
    tensors = tuple(
        check_inputs(a, path, dtype_at(dtypes, i), label(x, names, i)) for i, a in enumerate(arrays)
    )
    lengths = {len(t) for t in tensors}
    if len(lengths) > 1:
        raise ConfigError(
            f"data file {path}: its inputs hold different numbers of samples "
            f"({', '.join(str(len(t)) for t in tensors)}): expected one row per sample in each"
        )
    inputs: Inputs = tensors if len(tensors) > 1 else tensors[0]
    if y is None:
        return inputs, None
    labels = check_labels(y, path)
    if len(labels) != batch_size(inputs):
        raise ConfigError(
            f"data file {path}: {batch_size(inputs)} inputs but {len(labels)} labels: expected "
            "one label per sample"
        )
    return inputs, labels


def order_named(arrays: dict[str, Any], names: Sequence[str] | None, path: Path) -> list[Any]:
    """Named input arrays in the order of the model's inputs `names` (the file's order when
    the model names none): every array must name an input, and they must be its first ones."""
    if names is None:
        return list(arrays.values())
    unknown = [k for k in arrays if k not in names]
    if unknown:
        raise ConfigError(
            f"data file {path}: array {unknown[0]!r} is not an input of the model (its inputs, "
            f"in order: {', '.join(names)})"
        )
    given = [n for n in names if n in arrays]
    if given != list(names[: len(given)]):
        missing = next(n for n in names if n not in arrays)
        raise ConfigError(
            f"data file {path}: holds {', '.join(given)} but not {missing!r}: the model takes "
            f"its inputs in the order {', '.join(names)}, so give every input up to the last"
        )
    return [arrays[n] for n in given]


def dtype_at(dtypes: Dtypes, index: int) -> torch.dtype | str | None:
    """What input `index` is read as: "float" (every input float32: dtypes None), a dtype, or
    None (integers int64, floats float32)."""
    if dtypes is None:
        return "float"
    return dtypes[index] if index < len(dtypes) else None


def label(x: Any, names: Sequence[str] | None, index: int) -> str:
    """`inputs` for a file's one input; the input's name for named ones."""
    if not isinstance(x, dict):
        return "inputs"
    ordered = [n for n in (names or list(x)) if n in x]
    return f"input {ordered[index]!r}" if index < len(ordered) else "inputs"


def numeric_kind(value: Any) -> str:
    """numpy's kind letter of an array's or a tensor's dtype (f, i, u, b, c, U, O, ...)."""
    if isinstance(value, np.ndarray):
        return str(value.dtype.kind)
    if value.is_complex():
        return "c"
    if value.dtype == torch.bool:
        return "b"
    return "f" if value.is_floating_point() else "i"


def check_inputs(
    x: Any, path: Path, dtype: torch.dtype | str | None = "float", what: str = "inputs"
) -> torch.Tensor:
    """One input array, checked (numbers, a non-empty batch of samples, finite) and read as
    `dtype` (see `dtype_at`)."""
    kind = numeric_kind(x)
    if kind not in "fiu":
        raise ConfigError(
            f"data file {path}: {what} of type {x.dtype} are not numbers: expected float or "
            "integer values"
        )
    if x.ndim < 2 or x.shape[0] == 0 or 0 in x.shape:
        raise ConfigError(
            f"data file {path}: {what} of shape {tuple(x.shape)}: expected a non-empty array of "
            "samples, shape (N, ...) with N >= 1"
        )
    tensor = as_tensor(x, dtype, kind)
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise ConfigError(f"data file {path}: {what} hold NaN or infinite values")
    return tensor


def as_tensor(x: Any, dtype: torch.dtype | str | None, kind: str) -> torch.Tensor:
    """An array or tensor as float32 or int64 (by `dtype`, see `dtype_at`), then as `dtype`."""
    declared = dtype if isinstance(dtype, torch.dtype) else None
    floating = dtype == "float" or (dtype is None and kind == "f")
    floating = floating or (declared is not None and declared.is_floating_point)
    if isinstance(x, np.ndarray):
        tensor = torch.from_numpy(x.astype(np.float32 if floating else np.int64))
    else:
        tensor = x.float() if floating else x.long()
    return tensor if declared is None else tensor.to(declared)


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
    labels = [targets_of(b) for b in data if has_labels(b)]
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


def normalized(
    images: torch.Tensor, mean: Sequence[float] | None, std: Sequence[float] | None
) -> torch.Tensor:
    """`(images - mean) / std` per channel (one value, or one per channel)."""
    channels = images.shape[1]
    for key, values in (("--mean", mean), ("--std", std)):
        if values is not None and len(values) not in (1, channels):
            raise ConfigError(
                f"{key} gives {len(values)} values for images of {channels} channel(s): "
                f"give 1 or {channels}"
            )
    if mean is not None:
        images = images - torch.tensor(mean, dtype=images.dtype).view(1, -1, 1, 1)
    if std is not None:
        images = images / torch.tensor(std, dtype=images.dtype).view(1, -1, 1, 1)
    return images


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
