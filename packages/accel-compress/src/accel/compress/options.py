"""Every value a user gives `accel compress`, checked at the boundary, before anything loads.

Flags arrive as text (so `--repeats abc` is our one-line error, not a usage panel) and leave as
typed values; each error names the flag and the valid range. `accel.compress.recipe` checks a
recipe file's values with the same functions, naming the file and key instead of the flag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accel.core.errors import ConfigError

if TYPE_CHECKING:
    from accel.compress.signature import Signature

TARGETS = ("x86", "arm64")
BACKENDS = ("ort", "openvino", "pt2e", "torchao")
EXPORTS = ("onnx", "pt2")
# `--mean imagenet --std imagenet`: what torchvision and timm ImageNet models are trained on.
IMAGENET = {"--mean": (0.485, 0.456, 0.406), "--std": (0.229, 0.224, 0.225)}
CALIBRATION_CHOICES = ("auto", "minmax", "percentile", "entropy")  # quantize_ort.CALIBRATIONS
QUANTIZE = ("int8", "int8-static", "int8-dynamic", "int4")
INT8_MODES = ("auto", "static", "dynamic")
INT8_FLAGS = {"int8": "auto", "int8-static": "static", "int8-dynamic": "dynamic"}
MAX_REPEATS, MAX_EPOCHS, MAX_DROP = 1000, 10_000, 100.0
MAX_BATCH, MAX_SAMPLE = 4096, 2**24  # elements of one sample: 64 MiB of float32

Text = str | None
RawShape = str | Sequence[int] | None  # `1,3,8,8` from a flag, a list from a recipe file


@dataclass(frozen=True)
class CompressFlags:
    """`accel compress`'s flags as given: numbers and shapes still text (a recipe file may
    fill in the model and data keys), checked into `CompressOptions` by `check_options`."""

    model: Path | str | None = None
    quantize: Text = None
    prune: Text = None
    fold_bn: bool = False
    merge_branches: bool = False
    export: Text = None
    backend: Text = None
    target: Text = "x86"
    calib_data: Text = None
    eval_data: Text = None
    train_data: Text = None
    input_shape: RawShape = None
    input_spec: Text = None
    mean: Text = None
    std: Text = None
    max_drop: Text = None
    epochs: Text = "2"
    arch: Text = None
    trust_file: bool = False
    recipe: Path | None = None
    sensitivity: bool = False
    repeats: Text = "10"
    force: bool = False
    fallback: bool = True
    calibration: Text = "auto"
    compile_baseline: bool = False
    output: Path = Path("compressed")
    quiet: bool = False


@dataclass(frozen=True)
class AnalyzeFlags:
    """`accel compress analyze`'s flags as given, checked into `AnalyzeOptions`."""

    model: Path | str | None = None
    input_shape: RawShape = None
    input_spec: Text = None
    mean: Text = None
    std: Text = None
    calib_data: Text = None
    eval_data: Text = None
    arch: Text = None
    trust_file: bool = False
    sensitivity: bool = False
    repeats: Text = "10"
    output: Path | None = None


@dataclass(frozen=True)
class DataOptions:
    """What both commands read, checked: the model, how to build it, its inputs and data."""

    model: Path | str | None = None
    arch: str | None = None
    input_shape: tuple[int, ...] | None = None
    input_spec: Signature | None = None
    mean: tuple[float, ...] | None = None  # per-channel normalisation of images from a folder
    std: tuple[float, ...] | None = None
    calib_data: str | None = None
    eval_data: str | None = None
    train_data: str | None = None
    target: str = "x86"
    sensitivity: bool = False
    repeats: int = 10


@dataclass(frozen=True)
class CompressOptions(DataOptions):
    """`accel compress`'s checked flags: every value typed and in its range."""

    quantize: str | None = None
    prune: float | str | None = None  # a ratio in (0, 1), or "auto"
    fold_bn: bool = False
    merge_branches: bool = False
    export: str | None = None
    backend: str | None = None
    max_drop: float | None = None
    epochs: int = 2
    force: bool = False
    fallback: bool = True
    calibration: str = "auto"
    compile_baseline: bool = False
    output: Path = Path("compressed")
    quiet: bool = False


@dataclass(frozen=True)
class AnalyzeOptions(DataOptions):
    """`accel compress analyze`'s checked flags."""

    output: Path | None = None


def check_options(flags: CompressFlags) -> CompressOptions:
    """The flags of `accel compress` with every value checked and typed."""
    options = CompressOptions(  # checked in this order: the first bad flag is the one named
        prune=check_prune(flags.prune, "--prune"),
        repeats=check_int(flags.repeats, "--repeats", 1, MAX_REPEATS),
        epochs=check_int(flags.epochs, "--epochs", 0, MAX_EPOCHS),
        max_drop=check_drop(flags.max_drop, "--max-drop"),
        target=check_choice(flags.target, TARGETS, "--target") or "x86",
        backend=check_choice(flags.backend, BACKENDS, "--backend"),
        calibration=check_choice(flags.calibration, CALIBRATION_CHOICES, "--calibration") or "auto",
        export=check_choice(flags.export, EXPORTS, "--export"),
        quantize=check_choice(flags.quantize, QUANTIZE, "--quantize"),
        input_shape=check_shape(flags.input_shape, "--input-shape"),
        input_spec=check_input_spec(flags.input_spec, "--input-spec", flags.input_shape),
        mean=check_normalization(flags.mean, "--mean"),
        std=check_normalization(flags.std, "--std"),
        model=flags.model,
        arch=flags.arch,
        calib_data=flags.calib_data,
        eval_data=flags.eval_data,
        train_data=flags.train_data,
        sensitivity=flags.sensitivity,
        fold_bn=flags.fold_bn,
        merge_branches=flags.merge_branches,
        force=flags.force,
        fallback=flags.fallback,
        compile_baseline=flags.compile_baseline,
        output=Path(flags.output),
        quiet=flags.quiet,
    )
    check_parents(options.output, "--output")
    return options


def check_analyze_options(flags: AnalyzeFlags) -> AnalyzeOptions:
    """The flags of `accel compress analyze`, checked and typed."""
    options = AnalyzeOptions(
        repeats=check_int(flags.repeats, "--repeats", 1, MAX_REPEATS),
        input_shape=check_shape(flags.input_shape, "--input-shape"),
        input_spec=check_input_spec(flags.input_spec, "--input-spec", flags.input_shape),
        mean=check_normalization(flags.mean, "--mean"),
        std=check_normalization(flags.std, "--std"),
        model=flags.model,
        arch=flags.arch,
        calib_data=flags.calib_data,
        eval_data=flags.eval_data,
        sensitivity=flags.sensitivity,
        output=flags.output,
    )
    if options.output is not None:
        from accel.compress.atomic import check_owned_json

        check_parents(Path(options.output), "--output")
        check_owned_json(Path(options.output), "--output")
    return options


def int8_mode(requested: str, backend: str = "ort", calib_data: bool | None = None) -> str:
    """The one place that decides how int8 runs. `requested` is a `--quantize` value (`int8`
    means `auto`) or a pass's mode; with `calib_data` unknown (None: a recipe being built) the
    mode comes back as asked. Else `auto` is static QDQ with calibration data and dynamic
    (Linear/MatMul only: ORT's ConvInteger is slow) without; torchao is always dynamic, PT2E
    and OpenVINO always static; static without data is refused in one line."""
    mode = INT8_FLAGS.get(requested, requested)
    if mode not in INT8_MODES:
        raise ConfigError(f"quantize: mode {requested!r} is not one of {', '.join(INT8_MODES)}")
    if calib_data is None:
        return mode
    if backend == "torchao":
        return "dynamic"
    if mode == "static" and not calib_data:
        raise ConfigError(
            "quantize: static int8 needs calibration data: pass --calib-data NAME|PATH "
            "(a dataset name, a folder of images or a .npy/.pt file of inputs)"
        )
    resolved = mode if mode != "auto" else ("static" if calib_data else "dynamic")
    if backend in ("pt2e", "openvino") and resolved != "static":
        raise ConfigError(
            f"quantize backend {backend!r} is static int8: pass --calib-data NAME|PATH, "
            "or use backend 'torchao' (dynamic, Linear layers) or 'ort'"
        )
    return resolved


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


def check_normalization(value: Any, key: str) -> tuple[float, ...] | None:
    """`--mean`/`--std`: `imagenet`, or 1 to 4 finite numbers (`0.5` or `0.485,0.456,0.406`);
    a standard deviation above 0."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "imagenet":
        return IMAGENET[key]
    parts = value if isinstance(value, list | tuple) else str(value).split(",")
    numbers = [to_number(p, float) for p in parts]
    bad = any(n is None or not math.isfinite(n) or (key == "--std" and n <= 0) for n in numbers)
    if not 1 <= len(numbers) <= 4 or bad:
        what = "numbers above 0" if key == "--std" else "numbers"
        raise ConfigError(
            f"{key} {value!r}: expected imagenet, or one value per channel ({what}), "
            "e.g. 0.485,0.456,0.406"
        )
    return tuple(float(n or 0.0) for n in numbers)


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


def check_input_spec(value: Any, key: str, shape: Any = None) -> Signature | None:
    """`input_ids:int64[1,128],attention_mask:int64[1,128]` -> a Signature (see
    `accel.compress.signature.parse_input_spec`); not together with `--input-shape` (`shape`)."""
    if value is None:
        return None
    if shape is not None:
        raise ConfigError(
            f"{key} and --input-shape both describe the inputs: pass one (--input-shape N,C,H,W "
            "is the shortcut for one float input)"
        )
    if not isinstance(value, str):
        raise ConfigError(f"{key} = {value!r}: expected text like input_ids:int64[1,128]")
    from accel.compress.signature import parse_input_spec

    return parse_input_spec(value, key)


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
