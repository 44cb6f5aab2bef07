"""Every value a user gives `accel compress`, checked at the boundary, before anything loads.

Flags arrive as text (so `--repeats abc` is our one-line error, not a usage panel) and leave as
typed values; each error names the flag and the valid range. `accel.compress.recipe` checks a
recipe file's values with the same functions, naming the file and key instead of the flag.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from accel.core.errors import ConfigError

TARGETS = ("x86", "arm64")
BACKENDS = ("ort", "pt2e", "torchao")
EXPORTS = ("onnx", "pt2")
QUANTIZE = ("int8", "int8-static", "int8-dynamic", "int4")
MAX_REPEATS, MAX_EPOCHS, MAX_DROP = 1000, 10_000, 100.0
MAX_BATCH, MAX_SAMPLE = 4096, 2**24  # elements of one sample: 64 MiB of float32


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """The flags of `accel compress` with every value checked and typed."""
    checked = dict(options)
    checked["prune"] = check_prune(options.get("prune"), "--prune")
    checked["repeats"] = check_int(options.get("repeats"), "--repeats", 1, MAX_REPEATS)
    checked["epochs"] = check_int(options.get("epochs"), "--epochs", 0, MAX_EPOCHS)
    checked["max_drop"] = check_drop(options.get("max_drop"), "--max-drop")
    checked["target"] = check_choice(options.get("target"), TARGETS, "--target")
    checked["backend"] = check_choice(options.get("backend"), BACKENDS, "--backend")
    checked["export"] = check_choice(options.get("export"), EXPORTS, "--export")
    checked["quantize"] = check_choice(options.get("quantize"), QUANTIZE, "--quantize")
    checked["input_shape"] = check_shape(options.get("input_shape"), "--input-shape")
    check_parents(Path(options["output"]), "--output")
    return checked


def check_analyze_options(options: dict[str, Any]) -> dict[str, Any]:
    """The flags of `accel compress analyze`, checked and typed."""
    checked = dict(options)
    checked["repeats"] = check_int(options.get("repeats"), "--repeats", 1, MAX_REPEATS)
    checked["input_shape"] = check_shape(options.get("input_shape"), "--input-shape")
    if options.get("output") is not None:
        from accel.compress.atomic import check_owned_json

        check_parents(Path(options["output"]), "--output")
        check_owned_json(Path(options["output"]), "--output")
    return checked


def check_prune(value: Any, key: str) -> float | str | None:
    """A ratio in (0, 1), or `auto`."""
    if value is None or value == "auto":
        return value
    ratio = to_number(value, float)
    if ratio is None or not 0.0 < ratio < 1.0:
        raise ConfigError(
            f"{key} {value!r}: expected a ratio of channels to remove in (0, 1), e.g. 0.5, "
            "or 'auto' (with --max-drop)"
        )
    return ratio


def check_ratio(value: Any, key: str) -> float:
    """A pruning ratio in (0, 1) from a file."""
    ratio = to_number(value, float)
    if ratio is None or not 0.0 < ratio < 1.0:
        raise ConfigError(f"{key} = {value!r}: expected a ratio in (0, 1), e.g. 0.5")
    return ratio


def check_int(value: Any, key: str, low: int, high: int) -> int:
    """A whole number in [low, high]."""
    number = to_number(value, int)
    if number is None or not low <= number <= high:
        raise ConfigError(f"{key} {value!r}: expected a whole number in [{low}, {high}]")
    return number


def check_drop(value: Any, key: str) -> float | None:
    """Accuracy points: finite, in [0, 100]."""
    if value is None:
        return None
    drop = to_number(value, float)
    if drop is None or not 0.0 <= drop <= MAX_DROP:
        raise ConfigError(
            f"{key} {value!r}: expected the accuracy drop allowed in points, a number in "
            f"[0, {MAX_DROP:g}], e.g. 0.5"
        )
    return drop


def check_choice(value: Any, choices: tuple[str, ...], key: str) -> str | None:
    """One of `choices` (None stays None: the flag was not given)."""
    if value is None or value in choices:
        return value
    raise ConfigError(f"{key} {value!r} is not supported: use one of {', '.join(choices)}")


def check_shape(value: Any, key: str) -> tuple[int, ...] | None:
    """`1,3,224,224` (or a list of ints) -> (1, 3, 224, 224): 2 to 8 positive sizes, a batch
    up to MAX_BATCH and samples of up to MAX_SAMPLE elements."""
    if value is None:
        return None
    parts = value if isinstance(value, list | tuple) else str(value).replace("x", ",").split(",")
    sizes = [to_number(p, int) for p in parts if not isinstance(p, str) or p.strip()]
    if not 2 <= len(sizes) <= 8 or any(s is None or s <= 0 for s in sizes):
        raise ConfigError(f"{key} {value!r}: expected positive sizes like 1,3,224,224 (2 to 8)")
    shape = tuple(int(s or 0) for s in sizes)
    if shape[0] > MAX_BATCH or math.prod(shape[1:]) > MAX_SAMPLE:
        raise ConfigError(
            f"{key} {value!r}: expected a batch of at most {MAX_BATCH} and samples of at most "
            f"{MAX_SAMPLE:,} elements"
        )
    return shape


def to_number(value: Any, kind: type) -> Any:
    """`value` as a finite int or float (text or number), else None; bools are not numbers."""
    if isinstance(value, bool):
        return None
    try:
        number = kind(value) if not isinstance(value, str) else kind(value.strip())
    except (TypeError, ValueError, OverflowError):
        return None
    if kind is int and isinstance(value, float) and value != number:
        return None
    if isinstance(number, float) and not math.isfinite(number):
        return None
    return number


def check_parents(path: Path, key: str) -> None:
    """Every existing folder above `path` is a folder (`-o file.txt/out` is one line)."""
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{key} {path}: {parent} is a file, not a folder")
            return
