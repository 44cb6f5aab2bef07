"""Value ranges checked before anything runs (and before a run directory is made).

`seed` and `trainer.run_dir` are checked here; the arguments of torch's optimizers and
schedulers through accel-core's table (`accel.core.value_ranges`), the same one the registry
applies when it builds them, so `optimizer.lr=-0.1` fails in one line before any training.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accel.core.errors import ConfigError
from accel.core.value_ranges import check_ranges_of, check_seed

RANGED_GROUPS = {"optimizer": "optimizers", "scheduler": "schedulers"}


def check_values(config: Mapping[str, Any]) -> None:
    """Raise ConfigError for the first value outside its valid range."""
    check_seed(config.get("seed"))
    check_run_dir(config.get("trainer"))
    for group, kind in RANGED_GROUPS.items():
        check_component_ranges(group, kind, config.get(group))


def check_run_dir(trainer: Any) -> None:
    """`trainer.run_dir` names a folder: a non-empty path without control characters."""
    if not isinstance(trainer, Mapping) or "run_dir" not in trainer:
        return
    run_dir = trainer["run_dir"]
    if not isinstance(run_dir, str) or not run_dir.strip() or not run_dir.isprintable():
        raise ConfigError(
            f"trainer.run_dir={run_dir!r}: expected a folder path without newlines or control "
            "characters, like runs/${now:%Y-%m-%d}/${now:%H-%M-%S}"
        )


def check_component_ranges(group: str, kind: str, spec: Any) -> None:
    """The torch optimizer/scheduler a spec names, checked against accel-core's ranges
    (by the entry point's or `_target_`'s dotted path: nothing is imported)."""
    if not isinstance(spec, Mapping):
        return
    target = _target(kind, spec)
    kwargs = {str(k): v for k, v in spec.items() if k not in ("name", "_target_")}
    check_ranges_of(target, kwargs, group)


def _target(kind: str, spec: Mapping[str, Any]) -> str:
    """`module:Class` of a `name:` spec (read from entry-point metadata), or its `_target_`."""
    from accel.core.registry import registry

    if "name" in spec:
        return str(registry(kind).entry(str(spec["name"])).target)
    return str(spec.get("_target_", ""))
