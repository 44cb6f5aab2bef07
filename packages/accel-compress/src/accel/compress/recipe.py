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

from accel.core.errors import ConfigError

QUANTIZE_CHOICES = (None, "int8", "int8-static", "int8-dynamic", "int4")
RECIPE_KEYS = (
    "passes",
    "verify",
    "analysis",
    "target",
    "model",
    "arch",
    "input_shape",
    "calib_data",
    "eval_data",
    "train_data",
    "output",
)


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
) -> dict[str, Any]:
    """The recipe that command-line flags describe, passes in a sensible order."""
    if quantize not in QUANTIZE_CHOICES:
        raise ConfigError(
            f"--quantize {quantize!r} is not supported: use one of "
            f"{', '.join(str(c) for c in QUANTIZE_CHOICES[1:])}"
        )
    mode = {"int8": "auto", "int8-static": "static", "int8-dynamic": "dynamic"}.get(quantize or "")
    passes: list[Any] = []
    if merge_branches:
        passes.append("merge_branches")
    if fold_bn:
        passes.append("fold_bn")
    passes += prune_passes(prune, max_drop, finetune_epochs if has_train_data else 0)
    backend = backend or ("pt2e" if export == "pt2" else "ort")
    if quantize == "int4":
        passes.append({"name": "quantize", "backend": "torchao", "bits": 4})
    elif quantize and backend == "ort":
        passes += [
            {"name": "export", "format": "onnx"},
            {"name": "quantize", "backend": "ort", "mode": mode},
        ]
    elif quantize:
        passes.append({"name": "quantize", "backend": backend, "mode": mode})
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
    """A recipe from YAML or JSON; unknown top-level keys are named with the valid ones."""
    if not path.is_file():
        raise ConfigError(f"recipe file {path} does not exist")
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("passes"), list):
        raise ConfigError(f"recipe {path}: expected a mapping with a 'passes' list")
    unknown = sorted(set(data) - set(RECIPE_KEYS))
    if unknown:
        raise ConfigError(f"recipe {path}: unknown keys {unknown}; valid: {', '.join(RECIPE_KEYS)}")
    return data
