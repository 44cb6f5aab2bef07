"""Run a pipeline's steps in order inside one run directory, skipping steps already done."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from accel.cli.pipeline.artifacts import FILE_FORMATS
from accel.cli.pipeline.report import write_report
from accel.cli.pipeline.state import PipelineState, StepRecord
from accel.cli.pipeline.steps import STEP_KINDS, TRAINING_KINDS, StepResult
from accel.cli.tracking import child_run, child_tracker, numeric_metrics, parent_run
from accel.core.errors import AccelError, ConfigError
from accel.core.names import check_inside, check_name

log = logging.getLogger("accel.pipeline")


class StepFailed(AccelError):
    """A step raised: its state is saved as failed, and --resume starts again from it."""


def check_pipeline(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The steps of `config.pipeline`, each with a unique name and a known kind."""
    pipeline = config.get("pipeline")
    if not isinstance(pipeline, Mapping):
        raise ConfigError(
            "pipeline: choose one with pipeline=NAME (see configs/pipeline or the packaged ones)"
        )
    steps = pipeline.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ConfigError("pipeline.steps: expected a non-empty list of {name, kind, ...}")
    seen: set[str] = set()
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping) or "name" not in step:
            raise ConfigError(f"pipeline.steps[{i}]: expected a mapping with name and kind")
        name = check_name(step["name"], f"pipeline.steps[{i}].name")  # it names a folder
        kind = step.get("kind", name)
        if not isinstance(kind, str) or kind not in STEP_KINDS:
            raise ConfigError(
                f"pipeline.steps[{i}].kind={kind!r} is not valid; "
                f"use one of {', '.join(STEP_KINDS)}"
            )
        if not isinstance(step.get("config") or {}, Mapping):
            raise ConfigError(f"pipeline.steps[{i}].config: expected a mapping of config changes")
        if name in seen:
            raise ConfigError(f"pipeline.steps[{i}]: step name {name!r} is used twice")
        seen.add(name)
    return [dict(step) for step in steps]


def run_pipeline(config: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
    """Run every step not yet done; state is saved after each, the report at the end.

    With a tracker in the config, the pipeline is one tracked run and each step a child run
    (nested in MLflow); the report and the final model are logged on the pipeline's run.
    """
    steps = check_pipeline(config)
    state = PipelineState.load(run_dir)  # checked before the tracker or any step starts
    with parent_run(config, run_dir, "pipeline") as tracker:
        report = _run_steps(config, run_dir, steps, state, tracker)
        if tracker is not None:
            _log_outcome(tracker, run_dir, report)
        return report


def _run_steps(
    config: Mapping[str, Any],
    run_dir: Path,
    steps: list[dict[str, Any]],
    state: PipelineState,
    tracker: Any,
) -> dict[str, Any]:
    previous: dict[str, Any] | None = None
    history: dict[str, Any] = {}
    for index, spec in enumerate(steps):
        name, kind = spec["name"], spec.get("kind", spec["name"])
        if state.done(name):
            log.info("step %s: done already, skipped", name)
            print(f"step {name}: done already, skipped")
            previous = history[name] = state.steps[name].artifact
            continue
        print(f"step {name} ({kind}) ...")
        step_dir = fresh_dir(run_dir / "steps" / f"{index:02d}-{name}", run_dir / "steps")
        state.record(name, StepRecord("running"))
        start = time.perf_counter()
        try:
            artifact, metrics = _run_step(spec, config, previous, step_dir, history, tracker)
        except BaseException as error:
            message = " ".join(str(error).split()) or type(error).__name__
            seconds = time.perf_counter() - start
            state.record(name, StepRecord("failed", seconds=seconds, error=message))
            if isinstance(error, ConfigError) or not isinstance(error, Exception):
                raise
            raise StepFailed(
                f"pipeline step '{name}' failed: {type(error).__name__}: {message} "
                f"(finish with: accel pipeline run --resume {run_dir})"
            ) from error
        state.record(name, StepRecord("done", artifact, metrics, time.perf_counter() - start))
        log.info("step %s: done in %.1f s", name, state.steps[name].seconds)
        previous = history[name] = artifact
    return write_report(run_dir, steps, state)


def _run_step(
    spec: dict[str, Any],
    config: Mapping[str, Any],
    previous: dict[str, Any] | None,
    step_dir: Path,
    history: dict[str, Any],
    tracker: Any,
) -> StepResult:
    """One step; tracked as a child run: by the Trainer for training steps, else here."""
    name, kind = spec["name"], spec.get("kind", spec["name"])
    step = STEP_KINDS[kind]
    if kind in TRAINING_KINDS:
        child = child_tracker(tracker, name, step_dir)
        return step(spec, config, previous, step_dir, history, tracker=child)
    with child_run(tracker, name, step_dir, kind) as child:
        artifact, metrics = step(spec, config, previous, step_dir, history)
        if child is not None:
            child.log_metrics(numeric_metrics(metrics), step=0)
            if any(step_dir.iterdir()):
                child.log_artifact(str(step_dir), "step")
    return artifact, metrics


def _log_outcome(tracker: Any, run_dir: Path, report: Mapping[str, Any]) -> None:
    """The pipeline run gets the report, each model's test figures, and the final model."""
    tracker.log_metrics(numeric_metrics({"models": report.get("models", {})}), step=0)
    for name in ("report.md", "report.json"):
        tracker.log_artifact(str(run_dir / name), "report")
    final = _final_file(report)
    if final is not None:
        tracker.log_model(str(final), "model")


def _final_file(report: Mapping[str, Any]) -> Path | None:
    """The deployable file the last step that made one left (ONNX, pt2, IR), if any."""
    for record in reversed(list(report.get("steps", {}).values())):
        artifact = record.get("artifact") or {}
        if artifact.get("format") in FILE_FORMATS.values() and Path(artifact["path"]).is_file():
            return Path(artifact["path"])
    return None


def fresh_dir(path: Path, root: Path) -> Path:
    """An empty folder (a step killed half-way leaves files that must not be reused). An
    earlier attempt that was tracked is moved aside to `<name>.attempt-<n>`, not deleted:
    its tracker spool may hold data the server has not got yet (`accel mlflow sync` finds it).

    `path` must be a folder directly inside `root` (the run's `steps/`), and not a link:
    anything else is refused, never removed.
    """
    check_inside(root, root.parent, "pipeline steps folder")  # `steps` is no link out of it
    resolved = check_inside(path, root, "pipeline step folder")
    if resolved.parent != root.resolve() or path.is_symlink() or path.is_file():
        raise ConfigError(
            f"pipeline step folder {str(path)!r}: expected a folder directly inside "
            f"{root}; it was not emptied"
        )
    if path.exists():
        if (path / "mlflow").is_dir():
            n = 1
            while path.with_name(f"{path.name}.attempt-{n}").exists():
                n += 1
            path.rename(path.with_name(f"{path.name}.attempt-{n}"))
        else:
            shutil.rmtree(path)
    path.mkdir(parents=True)
    return path
