"""A recipe: the ordered passes plus verification and analysis settings, from flags or a file.

passes: [fold_bn, {name: prune, ratio: 0.5}, finetune, {name: export, format: onnx},
         {name: quantize, backend: ort}]
verify: {max_drop: 0.5, force: false}
analysis: {batches: [1, 32], repeats: 10, sensitivity: false}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from accel.compress.options import (
    MAX_BATCH,
    MAX_REPEATS,
    QUANTIZE,
    TARGETS,
    check_choice,
    check_drop,
    check_input_spec,
    check_int,
    check_ratio,
    check_shape,
    int8_mode,
)
from accel.core.errors import ConfigError

QUANTIZE_CHOICES = (None, *QUANTIZE)
PATH_KEYS = ("model", "arch", "calib_data", "eval_data", "train_data", "output")
# what a recipe file may say about the model and its inputs (flags given win over these)
INPUT_KEYS = (
    "model",
    "arch",
    "input_shape",
    "input_spec",
    "calib_data",
    "eval_data",
    "train_data",
)
RECIPE_KEYS = ("passes", "verify", "analysis", "target", *INPUT_KEYS, "output")


def build_recipe(
    *,
    quantize: str | None = None,
    prune: float | str | None = None,
    fold_bn: bool = False,
    merge_branches: bool = False,
    export: str | None = None,
    backend: str | None = None,
    finetune_epochs: int = 2,
    has_train_data: bool = False,
    max_drop: float | None = None,
    force: bool = False,
    target: str = "x86",
    fallback: bool = True,
    calibration: str = "auto",
) -> dict[str, Any]:
    """The recipe that command-line flags describe, passes in a sensible order."""
    if quantize not in QUANTIZE_CHOICES:
        raise ConfigError(
            f"--quantize {quantize!r} is not supported: use one of "
            f"{', '.join(str(c) for c in QUANTIZE_CHOICES[1:])}"
        )
    mode = int8_mode(quantize) if quantize and quantize != "int4" else None
    choose = backend is None and mode == "auto"  # no backend named: int8 candidates compared
    passes: list[Any] = []
    if merge_branches:
        passes.append("merge_branches")
    if fold_bn:
        passes.append("fold_bn")
    passes += prune_passes(prune, max_drop, finetune_epochs if has_train_data else 0)
    backend = backend or ("pt2e" if export == "pt2" else "ort")
    if quantize == "int4":
        passes.append({"name": "quantize", "backend": "torchao", "bits": 4})
    elif quantize and backend in ("ort", "openvino"):
        if backend == "openvino" and export:
            raise ConfigError(
                f"--export {export} with backend 'openvino': its result is an OpenVINO IR "
                "(model.xml); drop --export, or use backend 'ort' for an ONNX file"
            )
        passes += [
            {"name": "export", "format": "onnx"},
            onnx_quantize(mode, fallback, max_drop, calibration, choose, backend),
        ]
    elif quantize:
        spec: dict[str, Any] = {"name": "quantize", "backend": backend, "mode": mode}
        if choose and backend == "pt2e":  # a torch target: PT2E, torchao for Linear models
            spec["choose"] = True
        passes.append(spec)
        if export == "onnx":
            raise ConfigError(f"--export onnx with backend {backend!r}: use backend 'ort'")
    elif export:
        passes.append({"name": "export", "format": export})
    if not passes:
        raise ConfigError(
            "nothing to do: pass at least one of --quantize int8, --prune, --fold-bn, "
            "--merge-branches, --export, or --recipe FILE"
        )
    return {
        "passes": passes,
        "verify": {"max_drop": max_drop, "force": force},
        "target": target,
    }


def onnx_quantize(
    mode: str | None,
    fallback: bool,
    max_drop: float | None,
    calibration: str = "auto",
    choose: bool = False,
    backend: str = "ort",
) -> dict[str, Any]:
    """The int8 pass on an exported ONNX model (ONNX Runtime or OpenVINO): with ONNX Runtime,
    other calibrations tried, then layers kept in float, when int8 breaks the output tolerance
    or the accuracy budget (`max_drop`), unless `fallback` is off (`--no-fallback`)."""
    spec: dict[str, Any] = {"name": "quantize", "backend": backend, "mode": mode}
    if calibration != "auto":
        spec["calibration"] = calibration
    if choose:
        spec["choose"] = True
    if not fallback:
        spec["fallback"] = False
    if max_drop is not None:
        spec["max_drop"] = max_drop
    return spec


def prune_passes(prune: float | str | None, max_drop: float | None, epochs: int) -> list[Any]:
    if prune is None:
        return []
    if prune == "auto":
        if max_drop is None:
            raise ConfigError("--prune auto searches the ratio within --max-drop: pass --max-drop")
        return [{"name": "prune_search", "max_drop": max_drop, "epochs": epochs}]
    ratio = float(prune)
    out: list[Any] = [{"name": "prune", "ratio": ratio}]
    return [*out, {"name": "finetune", "epochs": epochs}] if epochs else out


def load_recipe(path: Path) -> dict[str, Any]:
    """A recipe from YAML or JSON: a file, so it may name passes by registry name only (a
    `_target_` is refused unless trusted); each value is checked, naming the file and key."""
    from accel.core.trust import check_file_spec

    data = parse_recipe(path)
    if not isinstance(data, dict) or not isinstance(data.get("passes"), list):
        raise ConfigError(f"recipe {path}: expected a mapping with a 'passes' list")
    unknown = sorted(str(k) for k in set(data) - set(RECIPE_KEYS))
    if unknown:
        raise ConfigError(f"recipe {path}: unknown keys {unknown}; valid: {', '.join(RECIPE_KEYS)}")
    check_file_spec(data, f"recipe {path}")  # also bounds its size (YAML aliases) and depth
    check_recipe(data, f"recipe {path}")
    check_pass_arguments(data, f"recipe {path}")
    return data


def parse_recipe(path: Path) -> Any:
    """The YAML (safe: plain data only) or JSON in `path`; a parse error is one line."""
    import yaml

    if not path.is_file():
        raise ConfigError(f"recipe file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"recipe {path}: line {error.lineno}: {error.msg}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = " ".join(str(error.problem or error.context or "invalid YAML").split())
        raise ConfigError(f"recipe {path}: {where}{problem}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as error:
        text = " ".join(str(error).split())[:200] or type(error).__name__
        raise ConfigError(f"recipe {path} is not readable YAML/JSON: {text}") from None


def check_recipe(recipe: dict[str, Any], source: str) -> None:
    """The values of a recipe, checked as the flags are: each error names `source` and key."""
    verify = section(recipe, "verify", source)
    analysis = section(recipe, "analysis", source)
    check_drop(verify.get("max_drop"), f"{source}: verify.max_drop")
    flags = (("force", verify), ("sensitivity", analysis), ("compiled_baseline", analysis))
    for key, table in flags:
        if not isinstance(table.get(key, False), bool):
            raise ConfigError(f"{source}: {key} = {table[key]!r}: expected true or false")
    if "repeats" in analysis:
        check_int(analysis["repeats"], f"{source}: analysis.repeats", 1, MAX_REPEATS)
    if "batches" in analysis:
        check_batches(analysis["batches"], f"{source}: analysis.batches")
    if recipe.get("target") is not None:
        check_choice(recipe["target"], TARGETS, f"{source}: target")
    for key in PATH_KEYS:
        if recipe.get(key) is not None and not isinstance(recipe[key], str):
            raise ConfigError(f"{source}: {key} = {recipe[key]!r}: expected a name or a path")
    check_shape(recipe.get("input_shape"), f"{source}: input_shape")
    check_input_spec(recipe.get("input_spec"), f"{source}: input_spec", recipe.get("input_shape"))
    for index, spec in enumerate(recipe["passes"]):
        check_pass(spec, f"{source}: passes[{index}]")


def section(recipe: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = recipe.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {key} must be a mapping, got {type(value).__name__}")
    return value


def check_batches(value: Any, key: str) -> None:
    if not isinstance(value, list) or not 1 <= len(value) <= 8:
        raise ConfigError(f"{key} = {value!r}: expected a list of 1 to 8 batch sizes, e.g. [1, 32]")
    for size in value:
        check_int(size, key, 1, MAX_BATCH)


def check_pass(spec: Any, key: str) -> None:
    """A pass spec: a registered pass name, or a mapping with one (and a sane ratio)."""
    from accel.core.registry import registry

    if isinstance(spec, dict) and "_target_" in spec and "name" not in spec:
        return  # a trusted file's own pass (check_file_spec refused it otherwise)
    name = spec.get("name") if isinstance(spec, dict) else spec
    names = registry("passes").names()
    if not isinstance(name, str) or name not in names:
        raise ConfigError(
            f"{key} = {name!r} is not a pass: use one of {', '.join(names)} "
            "(a name, or a mapping {name: ..., options})"
        )
    if isinstance(spec, dict) and name == "prune" and spec.get("ratio") is not None:
        check_ratio(spec["ratio"], f"{key}.ratio")
    if isinstance(spec, dict) and "max_drop" in spec:
        check_drop(spec["max_drop"], f"{key}.max_drop")


def check_pass_arguments(recipe: dict[str, Any], source: str = "recipe") -> None:
    """Build each registered pass once (constructors only: cheap), so a wrong argument is one
    line naming `source` and the pass before the model or data load. A trusted file's
    `_target_` pass is built when it runs, not here: loading a recipe calls no file's code."""
    from accel.core.passes import build_pass

    for index, spec in enumerate(recipe.get("passes", [])):
        if isinstance(spec, dict) and "_target_" in spec:
            continue
        try:
            build_pass(spec)
        except ConfigError as error:
            raise ConfigError(f"{source}: passes[{index}]: {error}") from None
