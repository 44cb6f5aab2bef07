"""From overrides to a validated, resolved plain dict with its run directory created."""

from __future__ import annotations

import contextlib
import copy
import difflib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from accel.cli.config.compose import Composer, compose, compose_many, project_dir
from accel.cli.config.groups import COMPONENT_GROUPS, GROUP_KINDS, GROUPS
from accel.cli.config.validate import check_types, validate
from accel.cli.config.values import check_values
from accel.cli.project_plugins import load_project_plugins
from accel.core.errors import ConfigError

RUN_DIR_KEY = "trainer.run_dir"
# Trainer arguments that are not loop or engine options (checked by the Trainer itself).
TRAINER_ONLY_KEYS = ("default_callbacks", "engine", "devices", "gradient_checkpointing")


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
    composer: Composer | None = None,
) -> Loaded:
    """Compose, validate and resolve; `${now:}` in the run dir is resolved exactly once here.

    `claim(base)` turns the resolved run dir into the folder actually used (e.g. `-1` added),
    before anything else is resolved, so `${trainer.run_dir}` elsewhere sees the final path.
    `composer`: the one that composed (and checked) these overrides already, if any.
    """
    load_project_plugins()
    composer = Composer() if composer is None else composer
    composed = composer.job(overrides)
    config = composed.config
    if check:
        plain = resolve(config.copy())
        check_loaded(plain, reference_configs(overrides, composed.base, composer.project))
    return Loaded(resolve(config, claim), list(overrides))


def check_jobs(jobs: list[list[str]], composer: Composer | None = None) -> list[dict[str, Any]]:
    """Every job of a sweep composed, resolved and validated before any of them runs; each
    distinct set of group choices is composed once (see `Composer`: pass the one that will
    compose the jobs to run them, and they are not composed again), so a sweep of 1,000 seeds
    is checked in seconds, and the first bad job stops the check."""
    load_project_plugins()
    composer = Composer() if composer is None else composer
    references: dict[int, list[dict[str, Any]]] = {}
    checked = []
    for job, composed in zip(jobs, compose_many(jobs, composer=composer), strict=True):
        plain = resolve(composed.config)
        if id(composed.base) not in references:
            references[id(composed.base)] = reference_configs(job, composed.base, composer.project)
        check_loaded(plain, references[id(composed.base)])
        checked.append(plain)
    return checked


def check_loaded(plain: dict[str, Any], references: list[dict[str, Any]]) -> None:
    """Keys and specs, then value types (against `references`), then value ranges."""
    check_trainer_options(plain.get("trainer"))
    validate(plain)
    for reference in references:
        check_types(plain, reference)
    check_values(plain)


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


def reference_configs(
    overrides: list[str], base: Any = None, project: Path | None = None
) -> list[dict[str, Any]]:
    """Configs whose value types a run must keep: the project's and the packaged defaults,
    both with the same group choices (so `optimizer=adamw` is compared with adamw's file).
    `base`: the project's composition of those choices, when the caller has it already; with
    no project folder, it is the packaged composition too (and nothing is composed again)."""
    choices = [o for o in overrides if _is_group_choice(o)]
    found = []
    if base is not None:
        with contextlib.suppress(ConfigError):
            found.append(resolve(copy.deepcopy(base)))
    if found and not (project_dir() if project is None else project).is_dir():
        return found
    if not found:
        found += _first_resolved(project, choices)
    return found + packaged_reference(tuple(choices))


def _first_resolved(project: Path | None, choices: list[str]) -> list[dict[str, Any]]:
    """The resolved composition with `choices`, else without them, else nothing."""
    for attempt in (choices, []):
        try:
            return [resolve(compose(attempt, project=project))]
        except ConfigError:
            continue
    return []


def packaged_reference(choices: tuple[str, ...]) -> list[dict[str, Any]]:
    """The packaged defaults with `choices`, composed once per process (installed files do not
    change while accel runs; the registry's names, which become group options, may)."""
    from accel.core.registry import registry

    names = tuple(tuple(registry(GROUP_KINDS[g] or "").names()) for g in COMPONENT_GROUPS)
    key = (choices, names)
    if key not in _PACKAGED:
        _PACKAGED[key] = _first_resolved(PACKAGED_ONLY, list(choices))
    return copy.deepcopy(_PACKAGED[key])


PACKAGED_ONLY = Path("/nonexistent-accel-project")  # a project folder that has no configs
_PACKAGED: dict[tuple[Any, ...], list[dict[str, Any]]] = {}


def _is_group_choice(override: str) -> bool:
    key = override.split("=", 1)[0]
    return "=" in override and key in GROUPS


__all__ = ["Loaded", "check_jobs", "load_config", "project_dir", "resolve"]
