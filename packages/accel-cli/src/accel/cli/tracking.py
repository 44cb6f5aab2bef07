"""Nested tracker runs: a pipeline or a sweep is one parent run, each step or job a child.

The CLI only uses the tracker protocol of accel-core: a tracker that offers
`child(name, run_dir=...)` nests its runs; one that does not gets separate runs, one per step
or job, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def tracker_spec(config: Mapping[str, Any], run_dir: Path) -> dict[str, Any] | None:
    """The config's tracker spec, with its `run_dir` (if it takes one) pointed at `run_dir`."""
    spec = config.get("tracker")
    if not spec:
        return None
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    if "run_dir" in spec:
        spec["run_dir"] = str(run_dir)
    return spec


@contextmanager
def parent_run(
    config: Mapping[str, Any],
    run_dir: Path,
    stage: str,
    params: Mapping[str, Any] | None = None,
) -> Iterator[Any]:
    """Yield a started parent run for `config` (None without a nesting tracker); end it with
    FINISHED, FAILED (an error) or KILLED (Ctrl-C). Resuming reattaches to the same run.
    Its params are `params`, else the flattened config."""
    spec = tracker_spec(config, run_dir)
    if spec is None:
        yield None
        return
    from accel.core.callbacks.tracker import flatten
    from accel.core.registry import build

    tracker = build("trackers", spec)
    if not callable(getattr(tracker, "child", None)):
        yield None
        return
    tracker.start_run(name=run_dir.name, tags={"accel.stage": stage})
    tracker.log_params(dict(params) if params is not None else flatten(config))
    with ended(tracker):
        yield tracker


def child_tracker(parent: Any, name: str, run_dir: Path) -> Any:
    """A child run of `parent` kept in `run_dir` (None without a parent)."""
    if parent is None:
        return None
    return parent.child(name, run_dir=run_dir)


@contextmanager
def child_run(parent: Any, name: str, run_dir: Path, stage: str) -> Iterator[Any]:
    """A started child run for work the Trainer does not track itself (compress, export, ...)."""
    child = child_tracker(parent, name, run_dir)
    if child is None:
        yield None
        return
    child.start_run(name=name, tags={"accel.stage": stage})
    with ended(child):
        yield child


@contextmanager
def ended(tracker: Any) -> Iterator[None]:
    """End the tracker's run as the block ends: FINISHED, FAILED (an error), KILLED (Ctrl-C)."""
    try:
        yield
    except KeyboardInterrupt:
        tracker.end_run(status="KILLED")
        raise
    except BaseException:
        tracker.end_run(status="FAILED")
        raise
    tracker.end_run(status="FINISHED")


def numeric_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of a nested metrics mapping, with dotted names (`models.train.size_mb`)."""
    from accel.core.callbacks.tracker import flatten

    return {
        name: float(value)
        for name, value in flatten(metrics).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
