"""The kinds of pipeline step. Each takes the previous step's artifact record and returns its own.

A step function: `step(spec, config, previous, step_dir, history) -> (artifact record, metrics)`.
`history` holds the records of every finished step, by name (for `evaluate`).
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from accel.cli.pipeline.artifacts import FORMATS, describe, open_module, size_mb
from accel.core.errors import ConfigError

StepResult = tuple[dict[str, Any] | None, dict[str, Any]]


def deep_merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes` merged in, mappings recursively (neither is modified)."""
    merged = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def step_config(spec: Mapping[str, Any], config: Mapping[str, Any], step_dir: Path) -> dict:
    """The run's config with the step's `config:` changes and the step folder as run dir
    (the trainer's, and the tracker's when it takes one: each step is its own tracked run)."""
    merged = deep_merge(config, spec.get("config") or {})
    merged.setdefault("trainer", {})["run_dir"] = str(step_dir)
    tracker = merged.get("tracker")
    if isinstance(tracker, dict) and "run_dir" in tracker:
        tracker["run_dir"] = str(step_dir)
    return merged


def train_step(
    spec: Any, config: Any, previous: Any, step_dir: Path, history: Any, tracker: Any = None
) -> StepResult:
    """Fit from scratch with accel-core's runtime; the artifact is the step's checkpoint dir.

    `tracker` (a child run of the pipeline's) replaces the config's tracker."""
    from accel.cli.runtime_bridge import run_stage

    metrics = run_stage(step_config(spec, config, step_dir), "fit", tracker=tracker)
    return {"format": "checkpoint", "path": str(step_dir)}, dict(metrics)


def finetune_step(
    spec: Any, config: Any, previous: Any, step_dir: Path, history: Any, tracker: Any = None
) -> StepResult:
    """Train the previous step's model further (e.g. after pruning): the same fit as `train`,
    with the optimizer, loss, scheduler and epochs of the run's config (and the step's
    `config:` changes), on that model instead of a fresh one."""
    from accel.cli.runtime_bridge import run_stage

    model = open_module(_need(previous, spec), spec["name"])
    metrics = run_stage(step_config(spec, config, step_dir), "fit", tracker=tracker, model=model)
    return describe(model, step_dir, _spec_of(previous)), dict(metrics)


def compress_step(
    spec: Any, config: Any, previous: Any, step_dir: Path, history: Any
) -> StepResult:
    """Run registered passes (`accel.passes`) in order on the previous step's model."""
    from accel.core.passes import PassContext, run_passes

    passes = spec.get("passes") or []
    if not passes:
        raise ConfigError(f"pipeline step '{spec['name']}': a compress step needs passes: [...]")
    model = open_module(_need(previous, spec), spec["name"]).eval()
    data = build_data(config)
    context = PassContext(
        example_inputs=first_inputs(data),
        calib_data=calibration_batches(data, int(spec.get("calib_batches", 8))),
        train_data=data.train_dataloader(),
        val_data=data.val_dataloader(),
        output_dir=step_dir,
    )
    result = run_passes(list(passes), model, context)
    metrics = {"passes": [report.to_dict() for report in context.reports]}
    return describe(result, step_dir, _spec_of(previous)), metrics


def export_step(spec: Any, config: Any, previous: Any, step_dir: Path, history: Any) -> StepResult:
    """Put the deployable file in the step folder: export a torch model, or copy a file."""
    record = _need(previous, spec)
    if record["format"] in ("checkpoint", "module"):
        export = spec.get("export") or {"name": "export", "format": "onnx"}
        return compress_step({**spec, "passes": [export]}, config, previous, step_dir, history)
    from accel.core.model_files import model_files

    source = Path(record["path"])
    for file in model_files(source):  # an ONNX model's external data, an IR's weights
        shutil.copy2(file, step_dir / file.name)
    return {**record, "path": str(step_dir / source.name)}, {"copied_from": str(source)}


def evaluate_step(
    spec: Any, config: Any, previous: Any, step_dir: Path, history: Any
) -> StepResult:
    """Test accuracy and size of every model the pipeline made, for the report."""
    from accel.cli.pipeline.evaluate import accuracy

    loader = build_data(config).test_dataloader()
    if loader is None:
        raise ConfigError(f"pipeline step '{spec['name']}': the data has no test split")
    rows = {}
    for name, record in history.items():
        if record is None or record.get("format") not in FORMATS:
            continue
        rows[name] = {
            "format": record["format"],
            "size_mb": size_mb(record),
            "test_accuracy": round(accuracy(record, loader, name), 4),
        }
    return previous, {"models": rows}


def build_data(config: Mapping[str, Any]) -> Any:
    from accel.core.registry import build

    return build("datasets", config["data"])


def first_inputs(data: Any) -> Any:
    return next(iter(data.train_dataloader()))[0]


def calibration_batches(data: Any, count: int) -> list[Any]:
    """Input tensors of the first `count` training batches (real data, for int8 calibration)."""
    batches = []
    for inputs, _ in data.train_dataloader():
        batches.append(inputs)
        if len(batches) >= count:
            break
    return batches


def _need(previous: dict[str, Any] | None, spec: Mapping[str, Any]) -> dict[str, Any]:
    if previous is None:
        raise ConfigError(
            f"pipeline step '{spec['name']}' needs a model from an earlier step (start with train)"
        )
    return previous


def _spec_of(record: dict[str, Any] | None) -> Any:
    """The registry spec of the architecture behind an artifact (kept from step to step)."""
    if record is None:
        return None
    if "spec" in record:
        return record["spec"]
    from accel.core.checkpoint import checkpoint_section, read_manifest

    return checkpoint_section(read_manifest(record["path"]), "model.spec")  # no tensor read


# steps whose Trainer reports to the tracker itself (they take a `tracker=` child run)
TRAINING_KINDS = ("train", "finetune")
STEP_KINDS: dict[str, Callable[..., StepResult]] = {
    "train": train_step,
    "finetune": finetune_step,
    "compress": compress_step,
    "export": export_step,
    "evaluate": evaluate_step,
}
