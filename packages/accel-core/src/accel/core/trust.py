"""The loading policy for files that may come from a stranger: they never name code to run.

A checkpoint manifest, a stored config, a recipe, a pruned spec or an archive names components
by registry name (`{name: resnet20, ...}`): the name resolves to an installed entry point, so
only installed code runs. A `_target_` (a dotted path to import and call) from a file is refused
unless the user says they trust the file (`--trust-file`), or their own config already names the
same target (a project's `configs/` and the command line are the user's, not a stranger's).

Two layers hold this:
- `check_file_spec` walks a spec read from a file *before* anything is built, and names the key
  that holds a `_target_`;
- `file_origin` marks the code that builds from a file: inside it, `import_target` (the only
  place accel imports a dotted path from config) refuses what the policy does not allow, so a
  component that builds nested specs itself cannot be used to slip one past the first check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from accel.core.errors import AccelError, ConfigError

TARGET_KEY = "_target_"
TRUST_FLAG = "--trust-file"
MAX_DEPTH = 64


class UntrustedFileError(AccelError):
    """A file asks for something only a trusted file may: code to import, or a pickle to run."""


@dataclass(frozen=True)
class _Origin:
    source: str
    trusted: bool


_TRUST_FILES: ContextVar[bool] = ContextVar("accel_trust_files", default=False)
_ALLOWED: ContextVar[frozenset[str]] = ContextVar("accel_allowed_targets", default=frozenset())
_ORIGIN: ContextVar[_Origin | None] = ContextVar("accel_file_origin", default=None)


@contextmanager
def trusting_files(enabled: bool = True) -> Iterator[None]:
    """Within this block, files are trusted (the command-line `--trust-file`)."""
    token = _TRUST_FILES.set(enabled)
    try:
        yield
    finally:
        _TRUST_FILES.reset(token)


def files_trusted() -> bool:
    """Whether the current block trusts files (see `trusting_files`)."""
    return _TRUST_FILES.get()


@contextmanager
def allowing_targets(targets: Iterable[str]) -> Iterator[None]:
    """Within this block, a file may name these `_target_`s: the user's own config names them."""
    token = _ALLOWED.set(_ALLOWED.get() | {normalize(t) for t in targets})
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def normalize(target: str) -> str:
    """`pkg.mod:Class` and `pkg.mod.Class` are one target."""
    return str(target).replace(":", ".")


def find_targets(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every `(key path, dotted path)` of a `_target_` anywhere in nested mappings and lists.

    Bounded, so a file cannot hang what reads it: deeper than MAX_DEPTH, or more than MAX_NODES
    values counted as a reader expands them (a YAML alias counts each time it is used: a
    "billion laughs" file is refused at once, before anything dumps or walks it in full), is a
    ConfigError. Each object is visited once, so the count itself is cheap.
    """
    walk = _Walk()
    walk.size(value, key, 0)
    yield from walk.targets


MAX_NODES = 1_000_000


class _Walk:
    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}  # expanded size of each container seen
        self.targets: list[tuple[str, str]] = []

    def size(self, value: Any, key: str, depth: int) -> int:
        if not isinstance(value, Mapping | list | tuple):
            return 1
        if depth > MAX_DEPTH:
            raise ConfigError(f"{key or 'config'}: nested more than {MAX_DEPTH} levels deep")
        known = self.sizes.get(id(value))
        if known is not None:
            return known
        self.sizes[id(value)] = 1  # a cycle counts once
        total = 1
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for k, v in items:
            path = _child(key, k, isinstance(value, Mapping))
            if k == TARGET_KEY and isinstance(value, Mapping):
                self.targets.append((path, str(v)))
            total += self.size(v, path, depth + 1)
            if total > MAX_NODES:
                raise ConfigError(
                    f"{key or 'config'}: more than {MAX_NODES:,} values (YAML aliases count "
                    "each time they are used)"
                )
        self.sizes[id(value)] = total
        return total


def _child(key: str, part: Any, mapping: bool) -> str:
    if not mapping:
        return f"{key}[{part}]"
    return f"{key}.{part}" if key else str(part)


def check_file_spec(value: Any, source: str, key: str = "", *, trust: bool | None = None) -> Any:
    """`value` (read from file `source`, at `key`) if it names no code the policy refuses."""
    allowed = _ALLOWED.get()
    trusted = _trusted(trust)
    try:
        for path, target in find_targets(value, key):  # walked when trusted too: bounded
            if not trusted and normalize(target) not in allowed:
                raise refusal(source, path, target)
    except UntrustedFileError:
        raise
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    return value


def refusal(source: str, key: str, target: str) -> UntrustedFileError:
    """The one-line error for a `_target_` a file may not name."""
    return UntrustedFileError(
        f"{source}: {key} = {target!r} names code to import and call; a file names components "
        f"by registry name ({{name: ...}}), so it was not loaded. Pass {TRUST_FLAG} only if "
        "you trust where the file comes from"
    )


@contextmanager
def file_origin(source: str, *, trust: bool | None = None) -> Iterator[None]:
    """Mark building from file `source`: `import_target` inside obeys the policy."""
    token = _ORIGIN.set(_Origin(source, _trusted(trust)))
    try:
        yield
    finally:
        _ORIGIN.reset(token)


def guard_import(target: str) -> None:
    """Raise when code building from an untrusted file is about to import `target`."""
    origin = _ORIGIN.get()
    if origin is None or origin.trusted or normalize(target) in _ALLOWED.get():
        return
    raise refusal(origin.source, TARGET_KEY, target)


def _trusted(trust: bool | None) -> bool:
    return files_trusted() if trust is None else trust


__all__ = [
    "TRUST_FLAG",
    "UntrustedFileError",
    "allowing_targets",
    "check_file_spec",
    "file_origin",
    "files_trusted",
    "find_targets",
    "guard_import",
    "trusting_files",
]
