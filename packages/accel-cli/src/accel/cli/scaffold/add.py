"""`accel add KIND NAME`: a config file, and for code components a plugin skeleton + entry point."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from accel.cli.config.compose import packaged_file
from accel.cli.project_plugins import PLUGINS_DIR
from accel.cli.scaffold.index import write_indexes
from accel.cli.scaffold.templates import CODE_TEMPLATES, PYPROJECT
from accel.core.atomic import write_text_atomic
from accel.core.errors import ConfigError
from accel.core.names import check_name


@dataclass(frozen=True)
class Kind:
    """What `accel add <kind>` writes: the config group and, for code, the registry kind."""

    group: str
    registry_kind: str
    code: bool
    default_base: str | None = None


ADD_KINDS: dict[str, Kind] = {
    "model": Kind("model", "models", code=True),
    "loss": Kind("loss", "losses", code=True),
    "transform": Kind("transform", "transforms", code=True),
    "callback": Kind("callbacks", "callbacks", code=True),
    "optimizer": Kind("optimizer", "optimizers", code=False, default_base="sgd"),
    "scheduler": Kind("scheduler", "schedulers", code=False, default_base="cosine"),
}
NAME_PATTERN = re.compile(r"[a-z_][a-z0-9_]*")
MAX_NAME = 64
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
BASE_PATTERN = re.compile(rf"{IDENTIFIER}(\.{IDENTIFIER})*")

CONFIGS: dict[str, str] = {
    "model": "name: {name}\nin_channels: 1\nnum_classes: 10\n",
    "loss": "name: {name}\nweight: 1.0\n",
    "transform": "# Use in a data config's transforms list.\nname: {name}\np: 1.0\n",
    "callback": (
        "# `accel train callbacks={name}`: the default callbacks plus this one.\n"
        "defaults:\n  - default\n  - _self_\n\n{name}:\n  name: {name}\n"
    ),
}


def add_component(kind: str, name: str, root: Path, base: str | None = None) -> list[Path]:
    """Write what `accel add` makes for `kind`/`name` under `root`; returns the files written.
    Everything is checked before the first file is written."""
    spec = check_request(kind, name, root, base)
    configs = root / "configs"
    written = [write_config(spec, kind, name, configs, base)]
    if spec.code:
        written += write_plugin(spec, kind, name, root)
    written += write_indexes(configs, (spec.group,))
    return written


def check_request(kind: str, name: str, root: Path, base: str | None = None) -> Kind:
    """The kind's spec, once NAME (a file and module name) and --base (written into YAML) are
    known safe: NAME a lower_snake_case identifier, BASE a registry name or a dotted path."""
    if kind not in ADD_KINDS:
        raise ConfigError(f"accel add: unknown kind {kind!r}; valid kinds: {', '.join(ADD_KINDS)}")
    if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name) or len(name) > MAX_NAME:
        raise ConfigError(
            f"accel add {kind}: name {name!r} must be lower_snake_case (letters, digits, _), "
            f"a Python identifier of up to {MAX_NAME} characters"
        )
    spec = ADD_KINDS[kind]
    if base is not None and spec.code:
        raise ConfigError(f"accel add {kind}: --base is for optimizer and scheduler presets")
    if base is not None and not BASE_PATTERN.fullmatch(base):
        raise ConfigError(
            f"accel add {kind}: --base {base!r} must be a registry name (like sgd) or a dotted "
            "path of identifiers (like torch.optim.SGD)"
        )
    target = root / "configs" / spec.group / f"{name}.yaml"
    if target.exists():
        raise ConfigError(f"accel add {kind}: {target} exists already; pick another name")
    return spec


def write_config(spec: Kind, kind: str, name: str, configs: Path, base: str | None) -> Path:
    path = configs / spec.group / f"{name}.yaml"
    if spec.code:
        return write_text_atomic(path, CONFIGS[kind].format(name=name))
    base = base or spec.default_base
    if packaged_file(Path(spec.group) / f"{base}.yaml") is not None:
        text = f"# A preset of `{base}`: override its arguments below.\ndefaults:\n  - {base}\n"
        text += "  - _self_\n"
    elif base is not None and "." in base:
        text = f"_target_: {base}\n"  # the user's own config: it may name code
    else:
        text = f"name: {base}\n"
    return write_text_atomic(path, text)


def write_plugin(spec: Kind, kind: str, name: str, root: Path) -> list[Path]:
    """The module with the component, and its entry point in `plugins/pyproject.toml`."""
    plugins = root / PLUGINS_DIR
    package = plugin_package(root)
    pyproject = plugins / "pyproject.toml"
    written = []
    if not pyproject.exists():
        dist = package.replace("_", "-")
        written.append(write_text_atomic(pyproject, PYPROJECT.format(dist=dist, package=package)))
    folder = plugins / "src" / package / spec.registry_kind
    for init in (folder.parent / "__init__.py", folder / "__init__.py"):
        if not init.exists():
            written.append(write_text_atomic(init, ""))
    cls = "".join(part.title() for part in name.split("_"))
    module = folder / f"{name}.py"
    written.append(write_text_atomic(module, CODE_TEMPLATES[kind].format(name=name, cls=cls)))
    target = f"{package}.{spec.registry_kind}.{name}:{cls}"
    add_entry_point(pyproject, f"accel.{spec.registry_kind}", name, target)
    return [*written, pyproject]


def plugin_package(root: Path) -> str:
    """The import name of the project's plugin package (from its pyproject, else the folder)."""
    pyproject = root / PLUGINS_DIR / "pyproject.toml"
    if pyproject.is_file():
        found = re.search(r'module-name\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"))
        if found:  # it becomes a folder and an import path: one identifier
            return check_name(found.group(1), f"{pyproject}: module-name", identifier=True)
    stem = re.sub(r"[^a-z0-9_]", "_", root.resolve().name.lower()).strip("_") or "project"
    stem = stem if stem[0].isalpha() else f"p_{stem}"
    return f"{stem}_plugins"


def add_entry_point(pyproject: Path, group: str, name: str, target: str) -> None:
    """Add `name = "target"` under `[project.entry-points."group"]`, creating the table."""
    text = pyproject.read_text(encoding="utf-8")
    header = f'[project.entry-points."{group}"]'
    line = f'{name} = "{target}"'
    if header in text:
        text = text.replace(header, f"{header}\n{line}", 1)
    else:
        text = text.rstrip("\n") + f"\n\n{header}\n{line}\n"
    write_text_atomic(pyproject, text)
