"""The server's options, checked at the boundary: every bad flag is one line naming it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from accel.core.errors import ConfigError
from accel.core.names import check_name
from accel.serve.mlflow_uri import is_model_uri, uri_name

DEFAULT_VERSION = "1"
TOKEN_ENV = "ACCEL_SERVE_TOKEN"


@dataclass(frozen=True, kw_only=True)
class ModelEntry:
    """One model version to serve: the name clients use, its version, and its path (or an
    MLflow model URI, kept as text)."""

    name: str
    version: str
    path: Path | str
    weight: float = 1.0


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    """Everything `accel serve` takes (limits included), as checked values."""

    models: tuple[ModelEntry, ...]
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 32
    max_wait_ms: float = 0.0
    max_queue: int = 256
    timeout_s: float = 30.0
    threads: int = 1
    token: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 8 << 20
    max_image_pixels: int = 4096 * 4096
    drain_timeout_s: float = 30.0
    trust: bool = False
    input_shape: tuple[int, ...] | None = None
    log_requests: bool = True

    def names(self) -> list[str]:
        return sorted({m.name for m in self.models})


def parse_models(items: list[str], name: str | None, split: str | None) -> tuple[ModelEntry, ...]:
    """`[NAME=]PATH` items (an existing path wins over a NAME= reading); with `--split
    a=0.9,b=0.1` the items named a and b become versions a and b of model `--name`."""
    if not items:
        raise ConfigError("no model: pass PATH (an .onnx file, an accel compress folder, ...)")
    named = [entry_of(item) for item in items]
    if split is not None:
        return split_versions(named, name, split)
    if name is not None:
        if len(named) > 1:
            raise ConfigError("--name names one model; with several PATHs write NAME=PATH for each")
        named = [(check_name(name, "--name"), named[0][1])]
    seen: set[str] = set()
    for model, _ in named:
        if model in seen:
            raise ConfigError(f"model name {model!r} is given twice: use NAME=PATH to tell apart")
        seen.add(model)
    return tuple(ModelEntry(name=n, version=DEFAULT_VERSION, path=p) for n, p in named)


def entry_of(item: str) -> tuple[str, Path | str]:
    """`(name, path or MLflow model URI)` of one `[NAME=]PATH` item."""
    if is_model_uri(item):
        return uri_name(item), item
    path = Path(item)
    if "=" in item and not path.exists():
        label, _, rest = item.partition("=")
        name = check_name(label, f"model {item!r}: NAME")
        return name, rest if is_model_uri(rest) else Path(rest)
    return default_name(path), path


def default_name(path: Path) -> str:
    """The folder's name (a file's folder); checked, so a name never becomes a bad label."""
    folder = path if path.is_dir() else path.parent
    name = folder.resolve().name or "model"
    try:
        return check_name(name, "model name")
    except ConfigError:
        raise ConfigError(
            f"{path}: its folder name {name!r} cannot name a model: pass --name or NAME=PATH"
        ) from None


def split_versions(
    named: list[tuple[str, Path | str]], name: str | None, split: str
) -> tuple[ModelEntry, ...]:
    """Versions of one model with traffic weights summing to 1."""
    if name is None:
        raise ConfigError("--split needs --name: the model whose versions share the traffic")
    model = check_name(name, "--name")
    weights: dict[str, float] = {}
    for part in split.split(","):
        version, _, text = part.partition("=")
        version = check_name(version.strip(), f"--split {part!r}: version")
        weights[version] = parse_weight(text, part)
    paths = dict(named)
    missing = [v for v in weights if v not in paths]
    if missing:
        raise ConfigError(
            f"--split names version {missing[0]!r}, but no PATH is given as {missing[0]}=PATH "
            f"(given: {', '.join(paths)})"
        )
    unused = [n for n in paths if n not in weights]
    if unused:
        raise ConfigError(f"{unused[0]}=PATH is not in --split {split}: give it a weight")
    if len(weights) < 2 or not math.isclose(sum(weights.values()), 1.0, abs_tol=1e-6):
        raise ConfigError(
            f"--split {split}: expected two or more versions with weights summing to 1"
        )
    return tuple(
        ModelEntry(name=model, version=v, path=paths[v], weight=w) for v, w in weights.items()
    )


def parse_weight(text: str, part: str) -> float:
    try:
        weight = float(text)
    except ValueError:
        raise ConfigError(f"--split {part!r}: expected VERSION=WEIGHT, e.g. a=0.9") from None
    if not 0 <= weight <= 1:
        raise ConfigError(f"--split {part!r}: a weight lies in [0, 1]")
    return weight


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """`--input-shape 1,8,8`: one sample's shape (no batch dimension)."""
    if text is None:
        return None
    try:
        shape = tuple(int(p) for p in text.split(","))
    except ValueError:
        shape = ()
    if not shape or len(shape) > 8 or any(n <= 0 for n in shape):
        raise ConfigError(f"--input-shape {text!r}: expected sizes > 0, e.g. 1,8,8")
    return shape


def check_range(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key} {value:g}: expected a value in [{low:g}, {high:g}]")
