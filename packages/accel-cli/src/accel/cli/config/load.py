"""From overrides to a validated, resolved plain dict with its run directory created."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from accel.cli.config.compose import compose, project_dir
from accel.cli.config.groups import GROUPS
from accel.cli.config.validate import check_types, validate
from accel.cli.project_plugins import load_project_plugins
from accel.core.errors import ConfigError

RUN_DIR_KEY = "trainer.run_dir"
# Trainer arguments that are not loop or engine options (checked by the Trainer itself).
TRAINER_ONLY_KEYS = ("default_callbacks", "engine", "devices")


@dataclass(frozen=True)
class Loaded:
    """A resolved config (plain containers) and the overrides that made it."""

    config: dict[str, Any]
    overrides: list[str]


def load_config(
    overrides: list[str],
    *,
    check: bool = True,
    claim: Callable[[str], Path] | None = None,
) -> Loaded:
    """Compose, validate and resolve; `${now:}` in the run dir is resolved exactly once here.

    `claim(base)` turns the resolved run dir into the folder actually used (e.g. `-1` added),
    before anything else is resolved, so `${trainer.run_dir}` elsewhere sees the final path.
    """
    load_project_plugins()
    config = compose(overrides)
    plain = resolve(config.copy())
    if check:
        check_trainer_options(plain.get("trainer"))
        validate(plain)
        for reference in reference_configs(overrides):
            check_types(plain, reference)
    if claim is not None:
        plain = resolve(config, claim)
    return Loaded(plain, list(overrides))


def check_trainer_options(trainer: Any) -> None:
    """Let accel-core's option dataclasses check the trainer keys (cheap: no torch)."""
    if trainer is None:
        return
    if not isinstance(trainer, dict):
        raise ConfigError(f"trainer: expected a mapping of options, got {trainer!r}")
    try:
        from accel.core.options import EngineOptions, LoopOptions
    except ImportError:  # an accel-core without the runtime: it will say so when training
        return
    groups = [(cls, {f.name for f in fields(cls)}) for cls in (LoopOptions, EngineOptions)]
    valid = set().union(*(names for _, names in groups), TRAINER_ONLY_KEYS)
    unknown = sorted(set(trainer) - valid)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(valid), n=1)
        hint = f". Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"trainer.{unknown[0]}: unknown trainer option; valid: {', '.join(sorted(valid))}{hint}"
        )
    for cls, names in groups:
        cls(**{k: v for k, v in trainer.items() if k in names})


def resolve(config: Any, claim: Callable[[str], Path] | None = None) -> dict[str, Any]:
    """Resolve interpolations into plain dicts and lists; errors name the key."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        base = OmegaConf.select(config, RUN_DIR_KEY, throw_on_missing=True)
        if base is not None:
            final = str(claim(str(base))) if claim is not None else str(base)
            OmegaConf.update(config, RUN_DIR_KEY, final, force_add=True)
        plain = OmegaConf.to_container(config, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "config"
        message = str(error).splitlines()[0]
        raise ConfigError(f"{key}: {message}") from None
    assert isinstance(plain, dict)
    return {str(k): v for k, v in plain.items()}


def reference_configs(overrides: list[str]) -> list[dict[str, Any]]:
    """Configs whose value types a run must keep: the project's and the packaged defaults,
    both with the same group choices (so `optimizer=adamw` is compared with adamw's file)."""
    choices = [o for o in overrides if _is_group_choice(o)]
    found = []
    for project in (None, Path("/nonexistent-accel-project")):
        for attempt in (choices, []):
            try:
                found.append(resolve(compose(attempt, project=project)))
                break
            except ConfigError:
                continue
    return found


def _is_group_choice(override: str) -> bool:
    key = override.split("=", 1)[0]
    return "=" in override and key in GROUPS


__all__ = ["Loaded", "load_config", "project_dir", "resolve"]
