"""What `POST /predict` does before and after the model: images and tabular rows in, top-k out.

The preprocessing travels with the model. Its input signature says the kind (one float input
`[N, C, H, W]` with C 1 or 3: an image classifier; `[N, F]`: tabular rows) and the image size
and channels; an accel checkpoint adds the evaluation transform its data config names (built
through the registry under the loading policy); an optional `preprocessing.json` beside the
model adds what a bare file cannot say: per-channel `mean`/`std`, class `labels`, tabular
`features`. A model fed named columns (an accel-tabular MLP) describes them itself
(`input_columns()`, accel-core's record format), and an `accel compress` folder of one holds
them as `columns.json`: its JSON rows are then encoded by `accel.core.records`, exactly as its
training rows were (column order, categories -> codes, booleans, missing -> NaN; the model
holds the fitted imputation and scaling). An image is decoded (PNG or JPEG only), converted
to the model's channels, resized to its size (bilinear), scaled to [0, 1], then normalized:
the digits and image-folder data of accel-cv are [0, 1] images, so a model trained on them is
served as it was trained.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from accel.serve.errors import ModelLoadError, ServeError
from accel.serve.tensors import TensorSpec

if TYPE_CHECKING:
    from accel.core.records import RecordFormat

CARD = "preprocessing.json"
COLUMNS = "columns.json"  # what `accel compress` writes for a model fed named columns
MAX_CARD_BYTES = 1 << 20
MAX_ROWS = 1024
FORMATS = ("PNG", "JPEG")


@dataclass(frozen=True, kw_only=True)
class Preprocessing:
    """How `/predict` turns an upload into the model's input, and its outputs into labels."""

    kind: str | None  # "image", "tabular" or None (then /predict is refused)
    input_name: str = ""
    channels: int = 0
    height: int = 0
    width: int = 0
    features: int = 0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    transform: Callable[[Any], Any] | None = None
    labels: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    columns: RecordFormat | None = None  # rows of named columns, encoded by accel.core.records
    source: str = "the input signature"

    def describe(self) -> dict[str, Any]:
        """What the metadata route shows of it."""
        found: dict[str, Any] = {"kind": self.kind, "source": self.source}
        if self.kind == "image":
            found.update(channels=self.channels, size=[self.height, self.width], scale="[0, 1]")
            found.update(mean=self.mean, std=self.std, transform=repr(self.transform))
        if self.kind == "tabular":
            found.update(features=list(self.feature_names or []) or self.features)
            if self.columns is not None:
                found["columns"] = self.columns.as_dict()
        found["labels"] = list(self.labels) if self.labels else None
        return found


def derive(
    inputs: Sequence[TensorSpec],
    card: Mapping[str, Any] | None = None,
    transform: Callable[[Any], Any] | None = None,
    source: str = "the input signature",
) -> Preprocessing:
    """The preprocessing of a model with these inputs, completed by its card and transform."""
    card = card or {}
    labels = tuple(card["labels"]) if card.get("labels") else None
    only = inputs[0] if len(inputs) == 1 else None
    if only is None or only.dtype.kind != "f":
        return Preprocessing(kind=None, labels=labels, source=source)
    shape = only.shape
    if len(shape) == 4 and shape[1] in (1, 3) and isinstance(shape[2], int) and shape[3]:
        image = card.get("image") or {}
        return Preprocessing(
            kind="image",
            input_name=only.name,
            channels=int(shape[1] or 0),
            height=int(shape[2]),
            width=int(shape[3] or 0),
            mean=tuple(image["mean"]) if image.get("mean") is not None else None,
            std=tuple(image["std"]) if image.get("std") is not None else None,
            transform=transform,
            labels=labels,
            source=source,
        )
    if len(shape) == 2 and isinstance(shape[1], int):
        names = tuple(card["features"]) if card.get("features") else None
        columns = record_columns(card.get("columns"), source)
        if columns is not None:
            names = tuple(columns.names)
            output = columns.output
            labels = labels or (output.classes if output is not None else None)
        return Preprocessing(
            kind="tabular",
            input_name=only.name,
            features=shape[1],
            feature_names=names,
            columns=columns,
            labels=labels,
            source=source,
        )
    return Preprocessing(kind=None, labels=labels, source=source)


def record_columns(data: Any, source: str) -> RecordFormat | None:
    """A model's column description (accel-core's record format), checked, or None."""
    if data is None:
        return None
    from accel.core.errors import ConfigError
    from accel.core.records import record_format

    try:
        return record_format(data, source)
    except ConfigError as error:
        raise ModelLoadError(str(error)) from None


def model_columns(model: Any) -> dict[str, Any] | None:
    """`{"columns": ...}` for a model that describes its input columns (a card), else None."""
    from accel.core.errors import ConfigError
    from accel.core.protocols import input_columns_of

    try:
        columns = input_columns_of(model)
    except ConfigError as error:
        raise ModelLoadError(str(error)) from None
    return None if columns is None else {"columns": columns}


def read_json_file(path: Path) -> Any:
    """A small JSON file beside a model (size-checked, parsed as data only)."""
    if path.stat().st_size > MAX_CARD_BYTES:
        raise ModelLoadError(f"{path} is larger than {MAX_CARD_BYTES} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(f"{path} is not JSON: {error}") from None


def read_card(folder: Path) -> dict[str, Any] | None:
    """`preprocessing.json` in `folder`, checked (numbers and strings only: no code), and the
    `columns.json` of a model fed named columns (checked when the model is derived), or None."""
    card = read_preprocessing(folder)
    path = folder / COLUMNS
    if path.is_file():
        card = {**(card or {}), "columns": read_json_file(path)}
    return card


def read_preprocessing(folder: Path) -> dict[str, Any] | None:
    """`preprocessing.json` in `folder`, checked, or None."""
    path = folder / CARD
    if not path.is_file():
        return None
    card = read_json_file(path)
    if not isinstance(card, dict):
        raise ModelLoadError(f"{path}: expected an object with image, labels, features")
    unknown = sorted(set(card) - {"image", "labels", "features"})
    if unknown:
        raise ModelLoadError(f"{path}: unknown key {unknown[0]!r}; valid: image, labels, features")
    for key in ("labels", "features"):
        value = card.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise ModelLoadError(f"{path}: {key} must be a list of strings")
    image = card.get("image") or {}
    if not isinstance(image, dict) or set(image) - {"mean", "std"}:
        raise ModelLoadError(f"{path}: image must be an object with mean and std")
    for key in ("mean", "std"):
        value = image.get(key)
        if value is not None and not (
            isinstance(value, list)
            and value
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            raise ModelLoadError(f"{path}: image.{key} must be a list of numbers")
    if image.get("std") and any(v == 0 for v in image["std"]):
        raise ModelLoadError(f"{path}: image.std must be non-zero")
    return card


def check_fits(prep: Preprocessing, outputs: Sequence[TensorSpec], where: str) -> None:
    """Mean/std match the channels, features the width, labels the classes: said at load."""
    for key in ("mean", "std"):
        value = getattr(prep, key)
        if value is not None and len(value) not in (1, prep.channels):
            raise ModelLoadError(
                f"{where}: image.{key} has {len(value)} values, the model takes "
                f"{prep.channels} channel(s)"
            )
    if prep.feature_names and len(prep.feature_names) != prep.features:
        what = COLUMNS if prep.columns is not None else "features"
        raise ModelLoadError(
            f"{where}: {what} names {len(prep.feature_names)} columns, the model takes "
            f"{prep.features}"
        )
    classes = outputs[0].shape[-1] if outputs and outputs[0].shape else None
    if prep.labels and isinstance(classes, int) and len(prep.labels) != classes:
        raise ModelLoadError(
            f"{where}: labels names {len(prep.labels)} classes, the model outputs {classes}"
        )


def decode_image(prep: Preprocessing, data: bytes, *, max_pixels: int) -> np.ndarray:
    """An uploaded PNG/JPEG as the model's input batch `(1, C, H, W)` float32."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Exception:
        raise ServeError(422, "image: not a PNG or JPEG file") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ServeError(
            413,
            f"image: {width}x{height} is {width * height} pixels, more than the limit of "
            f"{max_pixels} (--max-image-pixels)",
        )
    try:
        image.load()
        mode = "L" if prep.channels == 1 else "RGB"
        sized = image.convert(mode).resize((prep.width, prep.height), Image.Resampling.BILINEAR)
    except Exception as error:
        raise ServeError(422, f"image: corrupt or truncated {image.format} ({error})") from None
    array = np.asarray(sized, dtype=np.float32) / 255.0
    batch = array[None, None] if array.ndim == 2 else array.transpose(2, 0, 1)[None]
    return normalize(prep, np.ascontiguousarray(batch))


def normalize(prep: Preprocessing, batch: np.ndarray) -> np.ndarray:
    """Mean/std from the card, then the checkpoint's evaluation transform (torch)."""
    if prep.mean is not None or prep.std is not None:
        mean = np.asarray(prep.mean or (0.0,), dtype=np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(prep.std or (1.0,), dtype=np.float32).reshape(1, -1, 1, 1)
        batch = (batch - mean) / std
    if prep.transform is not None:
        import torch

        out = prep.transform(torch.from_numpy(batch))
        batch = out.detach().cpu().float().numpy() if hasattr(out, "detach") else np.asarray(out)
    return batch.astype(np.float32, copy=False)


def tabular_rows(prep: Preprocessing, body: Any) -> np.ndarray:
    """`{"rows": [row, ...]}` (or the bare list) as `(N, F)` float32. A model that describes
    its columns takes objects keyed by column name (or lists in column order) with raw values
    (numbers, category names, booleans, null for missing), encoded by `accel.core.records`;
    another takes lists of numbers, or objects keyed by its `features` names."""
    rows = body.get("rows") if isinstance(body, dict) else body
    if not isinstance(rows, list) or not rows:
        raise ServeError(422, 'body: expected {"rows": [row, ...]} with at least one row')
    if len(rows) > MAX_ROWS:
        raise ServeError(413, f"rows: {len(rows)} rows, more than the limit of {MAX_ROWS}")
    if prep.columns is not None:
        return encoded_rows(prep.columns, rows)
    return np.array([row_values(prep, row, f"rows[{i}]") for i, row in enumerate(rows)], np.float32)


def encoded_rows(columns: RecordFormat, rows: list[Any]) -> np.ndarray:
    """Rows encoded as the model's training rows were; a bad one is a 422 naming its row
    (1-based) and column."""
    from accel.core.errors import ConfigError
    from accel.core.records import encode_records

    try:
        batch = encode_records(rows, columns)
    except ConfigError as error:
        raise ServeError(422, f"rows: {error}") from None
    return np.ascontiguousarray(batch.numpy())


def row_values(prep: Preprocessing, row: Any, where: str) -> list[float]:
    names = prep.feature_names
    if isinstance(row, dict):
        if names is None:
            raise ServeError(
                422, f"{where}: this model's feature names are unknown ({CARD}): send a list of "
                f"{prep.features} numbers"
            )  # fmt: skip
        missing = [n for n in names if n not in row]
        unknown = [k for k in row if k not in names]
        if missing or unknown:
            what = f"missing {missing[0]!r}" if missing else f"unknown {unknown[0]!r}"
            raise ServeError(422, f"{where}: {what}; features: {', '.join(names)}")
        values, labels = [row[n] for n in names], [f"{where}.{n}" for n in names]
    elif isinstance(row, list):
        if len(row) != prep.features:
            raise ServeError(422, f"{where}: expected {prep.features} values, received {len(row)}")
        values, labels = row, [f"{where}[{i}]" for i in range(len(row))]
    else:
        raise ServeError(422, f"{where}: expected a list of numbers or an object")
    for value, label in zip(values, labels, strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ServeError(422, f"{label}: expected a number, received {value!r:.40}")
    return [float(v) for v in values]


def predictions(
    output: np.ndarray, top_k: int, labels: Sequence[str] | None
) -> list[list[dict[str, Any]]] | list[dict[str, Any]]:
    """Per row, the `top_k` classes with scores (softmax, unless rows are already
    probabilities), or `{"value": ...}` for a regressor's single output."""
    if output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1):
        return [{"value": float(v)} for v in output.reshape(-1)]
    scores = output.reshape(output.shape[0], -1).astype(np.float64)
    if not is_probability(scores):
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
    k = max(1, min(top_k, scores.shape[1]))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [
        [
            {
                "label": labels[i] if labels else str(int(i)),
                "index": int(i),
                "score": round(float(row[i]), 6),
            }
            for i in top
        ]
        for row, top in zip(scores, order, strict=True)
    ]


def is_probability(scores: np.ndarray) -> bool:
    return bool(
        (scores >= 0).all() and (scores <= 1).all() and np.allclose(scores.sum(axis=1), 1, 1e-3)
    )
