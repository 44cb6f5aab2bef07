"""Compose a config with Hydra: packaged defaults, then the project's `configs/`, then overrides.

The project's folder comes first in the search path, so a project file shadows the packaged file
of the same name; the packaged primary config is `accel.yaml`, a project's is `main.yaml` (which
usually starts with `defaults: [accel, _self_]`). Hydra errors become one-line ConfigErrors.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accel.cli.config.groups import (
    COMPONENT_GROUPS,
    GROUP_KINDS,
    PRIMARY_PACKAGED,
    PRIMARY_PROJECT,
)
from accel.cli.config.overrides import MAX_NESTING, prepare_overrides
from accel.core.errors import ConfigError

PACKAGED_CONFIGS = "pkg://accel.cli.conf"
PACKAGED_DIR = Path(__file__).resolve().parent.parent / "conf"
PROJECT_ENV = "ACCEL_CONFIGS"


def project_dir(cwd: Path | None = None) -> Path:
    """The project's config folder: `$ACCEL_CONFIGS`, else `./configs` (it may not exist)."""
    env = os.environ.get(PROJECT_ENV)
    return Path(env) if env else (cwd or Path.cwd()) / "configs"


def primary_name(project: Path) -> str:
    """`main` when the project has `configs/main.yaml`, else the packaged `accel`."""
    return PRIMARY_PROJECT if (project / f"{PRIMARY_PROJECT}.yaml").is_file() else PRIMARY_PACKAGED


def compose(overrides: list[str] | tuple[str, ...] = (), project: Path | None = None) -> Any:
    """The composed (unresolved) DictConfig for `overrides`; errors are ConfigErrors."""
    project = project_dir() if project is None else project
    overrides = prepare_overrides(overrides)
    with composition_errors(overrides, project):
        _initialize(project)
        from hydra import compose as hydra_compose

        return hydra_compose(config_name=primary_name(project), overrides=list(overrides))


@dataclass(frozen=True)
class Composed:
    """A job's composed config, and the composition of its group choices alone (`base`, the
    reference for the types of the values the job sets)."""

    config: Any
    base: Any


def compose_many(jobs: list[list[str]], project: Path | None = None) -> Iterator[Composed]:
    """The composed config of each job, in order (lazily: a bad job stops the rest).

    Each distinct set of group choices is composed once; the other overrides are applied to a
    copy, as Hydra itself does after composing the defaults list, so the 1,000 jobs of a sweep
    take seconds, not minutes (and one job composes once)."""
    project = project_dir() if project is None else project
    bases: dict[tuple[str, ...], Any] = {}
    for job in jobs:
        overrides = prepare_overrides(job)
        groups, values = split_overrides(overrides, project)
        key = tuple(o.input_line for o in groups)
        if key not in bases:
            bases[key] = compose(list(key), project)
        yield Composed(apply_overrides(bases[key], values, overrides, project), bases[key])


def split_overrides(overrides: list[str], project: Path) -> tuple[list[Any], list[Any]]:
    """Parsed `overrides` split as Hydra splits them: group choices, then config values."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    with composition_errors(overrides, project):
        parsed = OverridesParser.create().parse_overrides(overrides=overrides)
        check_no_sweep(parsed)
        if _INITIALIZED.get("project") != project:
            _initialize(project)
    loader = GlobalHydra.instance().config_loader()
    groups: list[Any] = []
    values: list[Any] = []
    for override in parsed:
        is_group = bool(loader.get_group_options(override.key_or_group))
        is_dict = isinstance(override.value(), dict)
        (groups if is_group and not is_dict else values).append(override)
    return groups, values


def check_no_sweep(parsed: list[Any]) -> None:
    """A single job's overrides hold no sweep (`a=1,2`, `range(...)`): that needs -m."""
    from hydra.core.override_parser.types import ValueType
    from hydra.errors import ConfigCompositionException

    for override in parsed:
        if not override.is_sweep_override():
            continue
        if override.value_type == ValueType.SIMPLE_CHOICE_SWEEP:  # a=1,2: say what it could mean
            raise ConfigCompositionException(
                f"Ambiguous value for argument '{override.input_line}' 1. To use it as a list, "
                "use key=[value1,value2] 2. To use it as string, quote the value: "
                "key='value1,value2' 3. To sweep over it, add --multirun to your command line"
            )
        raise ConfigCompositionException(
            f"Sweep parameters '{override.input_line}' requires --multirun"
        )


def apply_overrides(base: Any, values: list[Any], overrides: list[str], project: Path) -> Any:
    """A copy of `base` with the config-value overrides applied (as Hydra applies them)."""
    import copy

    from accel.cli.config.apply import apply_value_overrides

    config = copy.deepcopy(base)
    with composition_errors(overrides, project):
        apply_value_overrides(config, values)
    return config


@contextmanager
def composition_errors(overrides: list[str] | tuple[str, ...], project: Path) -> Iterator[None]:
    """Hydra's, OmegaConf's and PyYAML's errors as one-line ConfigErrors."""
    import yaml
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        yield
    except (HydraException, OmegaConfBaseException) as error:
        message = explain(error, project)
        if message.endswith("__valid_keys__"):
            message = message.replace("__valid_keys__", _valid_keys(message, overrides, project))
        raise ConfigError(message) from None
    except yaml.YAMLError as error:
        raise ConfigError(yaml_message(error)) from None
    except (UnicodeDecodeError, RecursionError) as error:  # they name no file: find it
        raise ConfigError(unreadable_file(project, error)) from None
    except ValueError as error:  # Hydra raises some composition errors as plain ValueErrors
        message = " ".join(str(error).split())
        raise ConfigError(f"overrides {' '.join(overrides)!r}: {message}") from None
    except ImportError as error:
        raise ConfigError(f"configs: {error}") from None


def unreadable_file(project: Path, error: BaseException) -> str:
    """The project file that fails the way `error` did (not UTF-8, or nested too deeply to
    read), found by reading each one; these errors name no file themselves."""
    import yaml

    problem = (
        f"nested too deeply to read; keep configs under {MAX_NESTING} levels"
        if isinstance(error, RecursionError)
        else f"not UTF-8 text ({error})"
    )
    for path in sorted(project.rglob("*.yaml")) if project.is_dir() else []:
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except type(error):
            return f"{path}: {problem}"
        except (OSError, UnicodeError, RecursionError, yaml.YAMLError):
            continue
    return f"configs: a config file is {problem}"


def yaml_message(error: Exception) -> str:
    """`<file>, line N: broken YAML: <problem>` from a PyYAML error."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    where = f"{mark.name}, line {mark.line + 1}" if mark is not None else "a config file"
    detail = f"{context}: {problem}" if context else problem
    return " ".join(f"{where}: broken YAML: {detail}".split())


def _valid_keys(message: str, overrides: Any, project: Path) -> str:
    """`valid keys: ...` of the parent of the unknown key in `message`, from a clean compose."""
    from hydra import compose as hydra_compose
    from omegaconf import DictConfig, OmegaConf

    full_key = message.split(":", 1)[0]
    parent = full_key.rpartition(".")[0]
    groups = [o for o in overrides if "=" in o and "." not in o.split("=", 1)[0]]
    try:
        clean = hydra_compose(config_name=primary_name(project), overrides=groups)
    except Exception:  # the listing is a courtesy: the error itself stands without it
        return "see accel train --cfg"
    node = OmegaConf.select(clean, parent) if parent else clean
    if not isinstance(node, DictConfig):
        return f"{parent} is not a mapping"
    return "valid keys: " + (", ".join(str(k) for k in node) or "none")


def store_registry_options(project: Path) -> None:
    """Make every registered name without a config file a group option (`model=resnet56`).

    The option is `{name: resnet56}`. Names that have a file are left alone (Hydra would
    otherwise merge the two). Listing names reads package metadata only: nothing is imported.
    """
    from hydra.core.config_store import ConfigStore

    from accel.core.registry import registry

    store = ConfigStore.instance()
    for group in COMPONENT_GROUPS:
        kind = GROUP_KINDS[group]
        assert kind is not None
        files = file_options(group, project)
        stored = store.repo.get(group, {})
        for name in list(_STORED.get(group, ())):
            stored.pop(f"{name}.yaml", None)
        _STORED[group] = [n for n in registry(kind).names() if n not in files]
        for name in _STORED[group]:
            store.store(group=group, name=name, node={"name": name}, provider="registry")


_STORED: dict[str, list[str]] = {}


def file_options(group: str, project: Path) -> set[str]:
    """Option names of `group` given by YAML files, packaged or in the project."""
    folders = [PACKAGED_DIR / group, project / group]
    return {p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")}


def _initialize(project: Path) -> None:
    """(Re)start Hydra with the search path: hydra, project, packaged defaults, schemas."""
    from hydra._internal.config_search_path_impl import ConfigSearchPathImpl
    from hydra._internal.hydra import Hydra
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.plugins import Plugins
    from hydra.version import setbase

    setbase("1.3")  # no automatic schema matching between files and registry-made options
    Plugins.instance()  # registers the file://, pkg:// and structured:// config sources

    search_path = ConfigSearchPathImpl()
    search_path.append("hydra", "pkg://hydra.conf")
    if project.is_dir():
        search_path.append("project", f"file://{project.resolve()}")
    search_path.append("accel", PACKAGED_CONFIGS)
    search_path.append("schema", "structured://")
    store_registry_options(project)
    GlobalHydra.instance().clear()
    _INITIALIZED.clear()
    Hydra.create_main_hydra2(task_name="accel", config_search_path=search_path)
    _INITIALIZED["project"] = project


_INITIALIZED: dict[str, Path] = {}  # the project Hydra is initialized for now


def explain(error: BaseException, project: Path) -> str:
    """One line saying which override, key or file is wrong and what would be valid."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    cause = error.__cause__ or error.__context__
    if isinstance(error, OverrideParseException):
        return f"override {error.override!r} is not valid Hydra syntax: {one_line(error, project)}"
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key:
        return unknown_key_message(cause.full_key, str(error))
    message = one_line(error, project)
    if isinstance(error, MissingConfigException):
        message = message.split(" Config search path:")[0]
    return message


def unknown_key_message(full_key: str, hydra_message: str) -> str:
    """`optimizer.lrr: no such key; valid keys: ...` with Hydra's hint to append with `+`."""
    parent = full_key.rpartition(".")[0]
    hint = ""
    if "To append to your config use" in hydra_message:
        hint = (
            " (to add a new key: " + hydra_message.split("use ", 1)[1].split(":")[0].strip() + ")"
        )
    where = f" in {parent}" if parent else ""
    return f"{full_key}: no such key{where}{hint}; __valid_keys__"


def one_line(error: BaseException, project: Path) -> str:
    """Hydra's message on one line, without its hints about HYDRA_FULL_ERROR."""
    text = str(error)
    cause = error.__cause__ or error.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if "HYDRA_FULL_ERROR" not in line]
    message = " ".join(lines) or type(error).__name__
    return message.replace(f"file://{project.resolve()}", str(project))
