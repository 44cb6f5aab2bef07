"""Model families by their library's own names: `--arch torchvision:resnet50`, `timm:resnet18`.

Syntax: `FAMILY:NAME[,KEY=VALUE...]`, e.g. `torchvision:resnet50,num_classes=10` or
`timm:efficientnet_b0,num_classes=10,drop_rate=0.2` (commas need no quoting in a shell).
A value is an int, a float, `true`/`false` or a plain word (letters, digits, `_`, `-`): never a
path, a URL or a dotted name, since the text may come from a recipe file, which is untrusted.
Models are built with random weights (`get_model(name, weights=None)`,
`create_model(name, pretrained=False)`): nothing is downloaded, the weights come from the
user's file. A plain name (no `FAMILY:`) is accel's registry (`accel registry list models`).
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from accel.core.errors import ConfigError
from accel.core.optional import require

Value = int | float | bool | str
MAX_TEXT = 512
MAX_ARGS = 32
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INT = re.compile(r"[-+]?\d+")
FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
SYNTAX = "FAMILY:NAME[,KEY=VALUE...] (e.g. torchvision:resnet50,num_classes=10)"


@dataclass(frozen=True)
class Family:
    """A library of models: how to build one by name and how to list them all."""

    module: str  # the import name, also what `pip install` takes
    lister: str  # how a user lists every name
    refused: frozenset[str]  # arguments that would fetch weights or read files
    names: Callable[[], list[str]] = field(repr=False)
    has: Callable[[str], bool] = field(repr=False)
    make: Callable[[str, dict[str, Value]], nn.Module] = field(repr=False)


@dataclass(frozen=True)
class ArchSpec:
    """A parsed `FAMILY:NAME,KEY=VALUE` text."""

    family: str
    name: str
    kwargs: dict[str, Value]


def torchvision_names() -> list[str]:
    import torchvision.models

    return list(torchvision.models.list_models())


def torchvision_make(name: str, kwargs: dict[str, Value]) -> nn.Module:
    """`torchvision.models.get_model(name, weights=None, ...)`; a detection model's backbone
    weights (downloaded by default) are off too."""
    import torchvision.models

    builder = torchvision.models.get_model_builder(name)
    extra: dict[str, Any] = {}
    if "weights_backbone" in inspect.signature(builder).parameters:
        extra["weights_backbone"] = None
    model: nn.Module = torchvision.models.get_model(name, weights=None, **extra, **kwargs)
    return model


def timm_names() -> list[str]:
    import timm

    return list(timm.list_models())


def timm_has(name: str) -> bool:
    import timm

    return bool(timm.is_model(name))


def timm_make(name: str, kwargs: dict[str, Value]) -> nn.Module:
    import timm

    options: dict[str, Any] = dict(kwargs)
    model: nn.Module = timm.create_model(name, pretrained=False, **options)
    return model


FAMILIES: dict[str, Family] = {
    "torchvision": Family(
        module="torchvision",
        lister="python -c 'import torchvision; print(torchvision.models.list_models())'",
        refused=frozenset({"weights", "weights_backbone", "pretrained", "pretrained_backbone"}),
        names=torchvision_names,
        has=lambda name: name in torchvision_names(),
        make=torchvision_make,
    ),
    "timm": Family(
        module="timm",
        lister="python -c 'import timm; print(timm.list_models())'",
        refused=frozenset(
            {
                "pretrained",
                "pretrained_cfg",
                "pretrained_cfg_overlay",
                "pretrained_strict",
                "checkpoint_path",
                "cache_dir",
            }
        ),
        names=timm_names,
        has=timm_has,
        make=timm_make,
    ),
}


def is_family_arch(arch: object) -> bool:
    """True for a text naming a family (`torchvision:...`, `timm:...`), not a registry name."""
    if not isinstance(arch, str):
        return False
    family, sep, _ = arch.partition(":")
    return bool(sep) and family.strip() in FAMILIES


def parse_arch(text: str, where: str = "--arch") -> ArchSpec:
    """`FAMILY:NAME[,KEY=VALUE...]` checked: a known family, a well-formed name, arguments
    with identifier keys (none that fetch weights) and plain values."""
    if len(text) > MAX_TEXT:
        raise ConfigError(f"{where}: longer than {MAX_TEXT} characters; expected {SYNTAX}")
    head, *pairs = text.split(",")
    family, _, name = (part.strip() for part in head.partition(":"))
    if family not in FAMILIES:
        raise ConfigError(f"{where} {text!r}: no family {family!r}; use one of {families()}")
    if not NAME.fullmatch(name):
        raise ConfigError(f"{where} {text!r}: expected a model name after '{family}:'; {SYNTAX}")
    if len(pairs) > MAX_ARGS:
        raise ConfigError(f"{where} {text!r}: more than {MAX_ARGS} arguments")
    kwargs: dict[str, Value] = {}
    for pair in pairs:
        key, value = parse_pair(pair, text, where)
        if key in kwargs:
            raise ConfigError(f"{where} {text!r}: {key} is given twice")
        if key in FAMILIES[family].refused:
            raise ConfigError(
                f"{where} {text!r}: {key} is not accepted: models are built with random "
                "weights and the weights come from your file (nothing is downloaded)"
            )
        kwargs[key] = value
    return ArchSpec(family, name, kwargs)


def parse_pair(pair: str, text: str, where: str) -> tuple[str, Value]:
    key, sep, raw = (part.strip() for part in pair.partition("="))
    if not sep or not KEY.fullmatch(key):
        raise ConfigError(f"{where} {text!r}: {pair.strip()!r} is not KEY=VALUE; {SYNTAX}")
    return key, parse_value(raw, f"{where} {text!r}: {key}")


def parse_value(raw: str, where: str) -> Value:
    """An int, a float, a bool (`true`/`false`) or a plain word; anything else is refused."""
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if INT.fullmatch(raw):
        return int(raw)
    if FLOAT.fullmatch(raw):
        return float(raw)
    if WORD.fullmatch(raw):
        return raw
    raise ConfigError(
        f"{where} = {raw!r}: expected an int, a float, true/false or a plain word "
        "(letters, digits, _ and -; no paths or dotted names)"
    )


def build_family(text: str, where: str = "--arch") -> nn.Module:
    """The model `text` names, built by its library with random weights (see module doc)."""
    spec = parse_arch(text, where)
    family = FAMILIES[spec.family]
    require(family.module, family.module, f"{where} {text}")
    if not family.has(spec.name):
        raise ConfigError(unknown_name(spec, family, where))
    try:
        model = family.make(spec.name, spec.kwargs)
    except (TypeError, ValueError, KeyError, AssertionError, RuntimeError) as error:
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise ConfigError(f"{where} {text}: {reason}") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{where} {text} built a {type(model).__name__}, not a torch module")
    return model


def unknown_name(spec: ArchSpec, family: Family, where: str) -> str:
    """`<family> has no model X; closest: a, b, c; list all: <command>`."""
    close = difflib.get_close_matches(spec.name, family.names(), n=5, cutoff=0.6)
    closest = f"closest: {', '.join(close)}; " if close else ""
    return (
        f"{where} {spec.family}:{spec.name}: {spec.family} has no model {spec.name!r}; "
        f"{closest}list all: {family.lister}"
    )


def family_hint(name: Any) -> str | None:
    """`torchvision has it: --arch torchvision:NAME` for a plain name an installed library
    holds (a user typing a library's name without its family), else None."""
    from importlib.util import find_spec

    if not isinstance(name, str) or not NAME.fullmatch(name):
        return None
    found = [
        f"{key}:{name}"
        for key, family in FAMILIES.items()
        if find_spec(family.module) is not None and family.has(name)
    ]
    return f"A library's model: --arch {' or --arch '.join(found)}" if found else None


def families() -> str:
    return ", ".join(f"{name}:NAME" for name in FAMILIES)
