"""One registry per kind of component, filled lazily from Python entry points.

Listing names reads package metadata only; a plugin module is imported when a config (or
code) asks for that one name. Users add their own components with `@register(kind)`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from accel.core.errors import (
    AccelError,
    ConfigError,
    DuplicateNameError,
    PluginLoadError,
    UnknownNameError,
)
from accel.core.protocols import check_protocol
from accel.core.signature import check_arguments
from accel.core.trust import check_file_spec, file_origin, guard_import
from accel.core.value_ranges import check_ranges

KINDS: tuple[str, ...] = (
    "models",
    "datasets",
    "losses",
    "transforms",
    "callbacks",
    "optimizers",
    "schedulers",
    "engines",
    "trackers",
    "passes",
    "commands",
)
LOCAL = "<local>"
T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """Where a registered name comes from; making one imports nothing."""

    name: str
    target: str
    distribution: str
    entry_point: EntryPoint | None = None
    obj: Any = None

    @property
    def owner(self) -> str:
        return f"{self.distribution} ({self.target})"


class Registry:
    """The components of one kind, by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.group = f"accel.{kind}"
        self._discovered: dict[str, Entry] | None = None
        self._conflicts: dict[str, list[Entry]] = {}
        self._local: dict[str, Entry] = {}
        self._loaded: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Registry({self.kind!r})"

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def refresh(self) -> None:
        """Forget what was discovered, so newly installed plugins are seen."""
        self._discovered = None
        self._conflicts = {}
        self._loaded = {n: v for n, v in self._loaded.items() if n in self._local}

    def names(self) -> list[str]:
        """Every registered name, sorted; no plugin is imported."""
        return sorted(self._all())

    def entries(self) -> list[Entry]:
        """Every entry, sorted by name; no plugin is imported."""
        everything = self._all()
        return [everything[name] for name in sorted(everything)]

    def entry(self, name: str) -> Entry:
        """The entry for `name`, or UnknownNameError listing what exists."""
        everything = self._all()
        if name in self._conflicts:
            owners = " and ".join(e.owner for e in self._conflicts[name])
            raise DuplicateNameError(
                f"{self.group} name '{name}' is provided by {owners}: uninstall one of them"
            )
        if name not in everything:
            raise UnknownNameError(self._unknown_message(name, everything))
        return everything[name]

    def get(self, name: str) -> Any:
        """The object registered as `name` (a class or factory), importing its plugin once."""
        if name not in self._loaded:
            self._loaded[name] = self._load(self.entry(name))
        return self._loaded[name]

    def register(self, name: str | None = None, *, override: bool = False) -> Callable[[T], T]:
        """Decorator adding a user's own component under `name` (default: its `__name__`)."""

        def add(obj: T) -> T:
            key = name or getattr(obj, "__name__", None)
            if not key:
                raise ConfigError(f"{self.group}: give a name to register {obj!r}")
            self.add(key, obj, override=override)
            return obj

        return add

    def add(self, name: str, obj: Any, *, override: bool = False) -> None:
        """Register `obj` as `name` from code; an existing name needs `override=True`."""
        target = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"
        new = Entry(name, target, LOCAL, obj=obj)
        existing = self._all().get(name)
        if existing is not None and not override:
            raise DuplicateNameError(
                f"{self.group} name '{name}' is provided by {existing.owner} and "
                f"{new.owner}: pick another name or pass override=True"
            )
        self._local[name] = new
        self._loaded[name] = obj

    def remove(self, name: str) -> None:
        """Unregister a name added from code (`add`/`register`); installed entry points stay
        (uninstall the package for that). An unknown local name is a ConfigError."""
        if name not in self._local:
            raise ConfigError(
                f"{self.group}: no name {name!r} registered from code; registered from code: "
                f"{', '.join(sorted(self._local)) or 'none'}"
            )
        del self._local[name]
        self._loaded.pop(name, None)

    @contextmanager
    def registered(self, name: str, obj: Any, *, override: bool = False) -> Iterator[Any]:
        """`obj` registered as `name` for the block (tests, notebooks), removed afterwards."""
        self.add(name, obj, override=override)
        try:
            yield obj
        finally:
            self.remove(name)

    def local_names(self) -> list[str]:
        """Names registered from code, sorted."""
        return sorted(self._local)

    def build(
        self, spec: str | Mapping[str, Any], /, *, config_key: str | None = None, **extra: Any
    ) -> Any:
        """Build a component from `name`, `{name: ..., **kwargs}` or `{_target_: ..., **kwargs}`.

        `extra` are arguments the caller supplies at build time (e.g. an optimizer's params).
        Arguments are checked against the factory's signature (and, for torch's optimizers and
        schedulers, their valid ranges) before the call; an invalid value the factory itself
        rejects is one ConfigError naming `config_key` (the config section) and the component.
        The result is checked against the kind's protocol.
        """
        label, factory, kwargs = self._resolve(spec)
        where = f"{config_key} ({label})" if config_key else f"{self.kind} '{label}'"
        check_arguments(factory, {**kwargs, **extra}, where)
        check_ranges(factory, kwargs, config_key or self.kind)
        try:
            obj = factory(**{**kwargs, **extra})
        except AccelError:
            raise
        except (ValueError, TypeError) as error:
            raise ConfigError(f"{where}: {_first_line(error)}") from error
        check_protocol(self.kind, label, obj)
        return obj

    def _resolve(self, spec: str | Mapping[str, Any]) -> tuple[str, Any, dict[str, Any]]:
        if isinstance(spec, str):
            return spec, self.get(spec), {}
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"{self.kind}: expected a name or a mapping with 'name' or '_target_', "
                f"got {type(spec).__name__} {spec!r}"
            )
        kwargs = {str(k): v for k, v in spec.items()}
        name, target = kwargs.pop("name", None), kwargs.pop("_target_", None)
        if name is not None and target is not None:
            raise ConfigError(
                f"{self.kind}: received both name={name!r} and _target_={target!r}. Choose one."
            )
        if name is not None:
            return str(name), self.get(str(name)), kwargs
        if target is not None:
            return str(target), import_target(str(target)), kwargs
        raise ConfigError(
            f"{self.kind}: a config needs 'name' (one of: {', '.join(self.names()) or 'none'}) "
            f"or '_target_' (a dotted path); got keys {sorted(kwargs)}"
        )

    def _all(self) -> dict[str, Entry]:
        return {**self._discover(), **self._local}

    def _discover(self) -> dict[str, Entry]:
        if self._discovered is None:
            found: dict[str, Entry] = {}
            conflicts: dict[str, list[Entry]] = {}
            for ep in entry_points(group=self.group):
                entry = Entry(ep.name, ep.value, _distribution_name(ep), entry_point=ep)
                previous = found.get(ep.name)
                if previous is not None and previous.distribution != entry.distribution:
                    conflicts.setdefault(ep.name, [previous]).append(entry)
                found.setdefault(ep.name, entry)
            self._discovered, self._conflicts = found, conflicts
        return self._discovered

    def _load(self, entry: Entry) -> Any:
        if entry.entry_point is None:
            return entry.obj
        try:
            return entry.entry_point.load()
        except Exception as error:  # any import-time failure of a plugin is reported the same
            raise PluginLoadError(
                f"{self.group} entry point '{entry.name}' of {entry.owner} failed to load: "
                f"{type(error).__name__}: {error}"
            ) from error

    def _unknown_message(self, name: str, everything: Mapping[str, Entry]) -> str:
        known = sorted(everything)
        message = f"{self.group} has no '{name}'. Available names: {', '.join(known) or 'none'}"
        close = difflib.get_close_matches(name, known, n=1)
        return message + (f". Did you mean '{close[0]}'?" if close else "")


def import_target(path: str) -> Any:
    """Import a config's `_target_` (`pkg.module.attr` or `pkg.module:attr`, never evaluated).

    While building from a file (`accel.core.trust.file_origin`), the loading policy decides
    first whether the file may name it.
    """
    guard_import(path)
    return import_dotted(path)


def import_dotted(path: str) -> Any:
    """Import `pkg.module.attr` or `pkg.module:attr` declared by installed or project code
    (entry points, a project's plugins), not read from a config or a file."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(f"_target_ {path!r} is not a dotted path like 'package.module.Class'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"_target_ {path!r}: cannot import {module_name!r} ({error})") from error
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"_target_ {path!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _distribution_name(ep: EntryPoint) -> str:
    dist = ep.dist
    return dist.name if dist is not None else "?"


REGISTRIES: dict[str, Registry] = {kind: Registry(kind) for kind in KINDS}


def registry(kind: str) -> Registry:
    """The registry of one kind; unknown kinds are named with the valid list."""
    try:
        return REGISTRIES[kind]
    except KeyError:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f". Did you mean '{close[0]}'?" if close else ""
        raise UnknownNameError(
            f"no registry kind '{kind}'. Available kinds: {', '.join(KINDS)}{hint}"
        ) from None


def register(kind: str, name: str | None = None, *, override: bool = False) -> Callable[[T], T]:
    """Decorator: `@register("losses", "my_loss")` adds a user's component to a registry."""
    return registry(kind).register(name, override=override)


def build(
    kind: str, spec: str | Mapping[str, Any], /, *, config_key: str | None = None, **extra: Any
) -> Any:
    """Build one component of `kind` from config (see Registry.build)."""
    return registry(kind).build(spec, config_key=config_key, **extra)


def build_from_file(
    kind: str,
    spec: str | Mapping[str, Any],
    /,
    *,
    source: str,
    key: str,
    trust: bool | None = None,
    **extra: Any,
) -> Any:
    """Build a component whose spec was read from file `source` (at `key`) under the loading
    policy: a `_target_` in it is refused before anything is imported or called, unless trusted
    (see `accel.core.trust`)."""
    check_file_spec(spec, source, key, trust=trust)
    with file_origin(source, trust=trust):
        return registry(kind).build(spec, config_key=key, **extra)


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] or type(error).__name__


def refresh_all() -> None:
    """Re-read entry points in every registry (after installing a plugin at run time)."""
    for reg in REGISTRIES.values():
        reg.refresh()
