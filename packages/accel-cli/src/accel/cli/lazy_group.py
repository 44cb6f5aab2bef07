"""The root command group: sub-commands contributed by other packages, loaded only when run.

`accel --help` lists contributed commands from entry-point metadata alone, so it never imports
a plugin (nor torch). A first-party command whose package is missing says what to install.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from accel.core.errors import MissingPackageError, PluginLoadError
from accel.core.registry import registry

# Commands that accel's own packages contribute, so a missing one can name its package.
FIRST_PARTY_COMMANDS: dict[str, str] = {
    "compress": "accel-compress",
    "mlflow": "accel-mlflow",
    "serve": "accel-serve",
}


class Placeholder(typer.core.TyperCommand):
    """Stands for a command in help listings without importing it."""

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name=name, help=help_text, short_help=help_text)


class AccelGroup(TyperGroup):
    """A Typer group that adds `accel.commands` entry points and install hints lazily."""

    def list_commands(self, ctx: Any) -> list[str]:
        own = super().list_commands(ctx)
        contributed = registry("commands").names()
        missing = [c for c in FIRST_PARTY_COMMANDS if c not in contributed]
        return own + [c for c in contributed + missing if c not in own]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        own = super().get_command(ctx, cmd_name)
        if own is not None:
            return own
        commands = registry("commands")
        if cmd_name in commands:
            return Placeholder(cmd_name, f"Provided by {commands.entry(cmd_name).distribution}.")
        if cmd_name in FIRST_PARTY_COMMANDS:
            package = FIRST_PARTY_COMMANDS[cmd_name]
            return Placeholder(cmd_name, f"Not installed: pip install {package}")
        return None

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, Placeholder) and name is not None:
            command = load_command(name)
        return name, command, rest


def load_command(name: str) -> Any:
    """Import the command registered as `name` (a `typer.Typer` app) as a command of the group."""
    commands = registry("commands")
    if name not in commands:
        raise MissingPackageError(f"accel {name}", FIRST_PARTY_COMMANDS[name])
    obj = commands.get(name)
    if isinstance(obj, typer.Typer):
        command = typer.main.get_command(obj)
        command.name = name
        return command
    entry = commands.entry(name)
    raise PluginLoadError(
        f"accel.commands entry point '{name}' of {entry.owner} is a {type(obj).__name__}, "
        "not a typer.Typer app"
    )
