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

PACKAGED_DIR = Path(__file__).resolve().parent.parent / "conf"
PROJECT_ENV = "ACCEL_CONFIGS"
# Entry-point group naming the packaged config folder (a Python package) of a domain package:
#   [project.entry-points."accel.configs"]
#   accel-tabular = "accel.tabular.conf"
CONFIGS_GROUP = "accel.configs"


def domain_config_dirs() -> list[Path]:
    """The config folders installed packages declare in `accel.configs`, sorted by entry-point
    name; searched after accel-cli's own, so accel-cli's files win a clash. A folder that does
    not resolve is skipped (automatic discovery stays quiet): `accel registry list` still
    shows the package's components."""
    import importlib.util
    from importlib.metadata import entry_points

    folders: list[Path] = []
    for ep in sorted(entry_points(group=CONFIGS_GROUP), key=lambda e: e.name):
        try:
            spec = importlib.util.find_spec(ep.value)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            folder = Path(location).resolve()
            if folder.is_dir() and folder != PACKAGED_DIR and folder not in folders:
                folders.append(folder)
    return folders


def packaged_file(relative: Path | str) -> Path | None:
    """The packaged config at `relative` (e.g. `data/wine.yaml`): accel-cli's, else the first
    installed domain package's that has it; None when none does."""
    for folder in packaged_dirs():
        if (folder / relative).is_file():
            return folder / relative
    return None


def packaged_files() -> dict[Path, Path]:
    """`{relative path: file}` of every packaged config, accel-cli's winning a clash."""
    found: dict[Path, Path] = {}
    for folder in packaged_dirs():
        for source in sorted(folder.rglob("*.yaml")):
            found.setdefault(source.relative_to(folder), source)
    return dict(sorted(found.items()))


def packaged_dirs() -> list[Path]:
    """accel-cli's packaged configs, then those of installed domain packages."""
    return [PACKAGED_DIR, *domain_config_dirs()]


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
        return hydra_compose(overrides, project)


def hydra_compose(overrides: list[str], project: Path) -> Any:
    """The one call of Hydra's `compose`, with Hydra initialized for `project` around it."""
    from hydra import compose as compose_config

    with hydra_for(project):
        return compose_config(config_name=primary_name(project), overrides=list(overrides))


@dataclass(frozen=True)
class Composed:
    """A job's composed config, and the composition of its group choices alone (`base`, the
    reference for the types of the values the job sets)."""

    config: Any
    base: Any


class Composer:
    """Composes jobs for one project, each distinct set of group choices once: the other
    overrides are applied to a copy, as Hydra itself does after composing the defaults list,
    so the 1,000 jobs of a sweep take seconds, not minutes, and a job composed again (checked,
    then run) is not composed by Hydra again."""

    def __init__(self, project: Path | None = None) -> None:
        self.project = project_dir() if project is None else project
        self._bases: dict[tuple[str, ...], Any] = {}
        self._groups: dict[str, bool] = {}  # key -> whether it names a config group

    def job(self, overrides: list[str]) -> Composed:
        """The job's composed config, from the composition of its group choices."""
        prepared = prepare_overrides(overrides)
        groups, values = self.split(prepared)
        key = tuple(o.input_line for o in groups)
        if key not in self._bases:
            self._bases[key] = compose(list(key), self.project)
        base = self._bases[key]
        return Composed(apply_overrides(base, values, prepared, self.project), base)

    def split(self, overrides: list[str]) -> tuple[list[Any], list[Any]]:
        """Parsed `overrides` split as Hydra splits them: group choices, then config values."""
        from hydra.core.override_parser.overrides_parser import OverridesParser

        with composition_errors(overrides, self.project):
            parsed = OverridesParser.create().parse_overrides(overrides=overrides)
            check_no_sweep(parsed)
            self._learn_groups({o.key_or_group for o in parsed} - set(self._groups))
        groups: list[Any] = []
        values: list[Any] = []
        for override in parsed:  # `model={...}` sets values: it is no group choice
            is_group = self._groups[override.key_or_group]
            is_choice = is_group and not isinstance(override.value(), dict)
            (groups if is_choice else values).append(override)
        return groups, values

    def _learn_groups(self, keys: set[str]) -> None:
        """Whether each of `keys` names a config group (one with options) in this project."""
        from hydra.core.global_hydra import GlobalHydra

        if not keys:
            return
        with hydra_for(self.project):
            loader = GlobalHydra.instance().config_loader()
            for key in keys:
                self._groups[key] = bool(loader.get_group_options(key))


def compose_many(
    jobs: list[list[str]], project: Path | None = None, *, composer: Composer | None = None
) -> Iterator[Composed]:
    """The composed config of each job, in order (lazily: a bad job stops the rest); each
    distinct set of group choices is composed once (see `Composer`), by `composer` if given."""
    composer = Composer(project) if composer is None else composer
    for job in jobs:
        yield composer.job(job)


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
    from omegaconf import DictConfig, OmegaConf

    full_key = message.split(":", 1)[0]
    parent = full_key.rpartition(".")[0]
    groups = [o for o in overrides if "=" in o and "." not in o.split("=", 1)[0]]
    try:
        clean = hydra_compose(groups, project)
    except Exception:  # the listing is a courtesy: the error itself stands without it
        return "see accel train --cfg"
    node = OmegaConf.select(clean, parent) if parent else clean
    if not isinstance(node, DictConfig):
        return f"{parent} is not a mapping"
    return "valid keys: " + (", ".join(str(k) for k in node) or "none")


def store_registry_options(project: Path) -> None:
    """Make every registered name without a config file a group option (`model=resnet56`).

    The option is `{name: resnet56}`. Names that have a file are left alone (the file is the
    option), and options made for names no longer registered, or that now have a file (another
    project), are dropped. Listing names reads package metadata only: nothing is imported.
    """
    from hydra.core.config_store import ConfigStore

    from accel.core.registry import registry

    store = ConfigStore.instance()
    for group in COMPONENT_GROUPS:
        kind = GROUP_KINDS[group]
        assert kind is not None
        files = file_options(group, project)
        names = [n for n in registry(kind).names() if n not in files]
        drop_registry_options(store, group, keep=set(names))
        for name in names:
            store.store(group=group, name=name, node={"name": name}, provider=REGISTRY_PROVIDER)


REGISTRY_PROVIDER = "registry"  # the ConfigStore provider of the options made above


def drop_registry_options(store: Any, group: str, keep: set[str]) -> None:
    """Remove from `store` the registry-made options of `group` not in `keep` (the store's
    own records say which are ours: their provider)."""
    from hydra.core.config_store import ConfigNode

    options = store.repo.get(group, {})
    for filename, node in list(options.items()):
        ours = isinstance(node, ConfigNode) and node.provider == REGISTRY_PROVIDER
        if ours and Path(filename).stem not in keep:
            del options[filename]


def file_options(group: str, project: Path) -> set[str]:
    """Option names of `group` given by YAML files, packaged or in the project."""
    folders = [*(folder / group for folder in packaged_dirs()), project / group]
    return {p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")}


@contextmanager
def hydra_for(project: Path) -> Iterator[None]:
    """Hydra initialized for `project` while the block runs (see `config.search_path`): the
    project's folder, then the packaged ones (accel-cli's, then installed domain packages');
    the packaged ones alone if the project has no folder. Registry names become group
    options first."""
    from accel.cli.config.search_path import hydra_initialized

    store_registry_options(project)
    packaged = packaged_dirs()
    if project.is_dir():
        with hydra_initialized(project.resolve(), then=packaged):
            yield
    else:
        with hydra_initialized(packaged[0], then=packaged[1:]):
            yield


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
