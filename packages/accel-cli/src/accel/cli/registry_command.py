"""`accel registry list [KIND]`: what is registered, where from; no plugin is imported."""

from __future__ import annotations

import typer

from accel.core.registry import KINDS, registry

registry_app = typer.Typer(help="Inspect the component registries.", no_args_is_help=True)


@registry_app.command("list")
def list_components(
    kind: str | None = typer.Argument(None, help=f"One of: {', '.join(KINDS)}. Default: all."),
) -> None:
    """List registered names with their object path and distribution.

    Example: [bold]accel registry list optimizers[/]
    """
    from rich.console import Console
    from rich.table import Table

    from accel.cli.project_plugins import load_project_plugins

    load_project_plugins()
    kinds = [registry(kind).kind] if kind else list(KINDS)
    table = Table("kind", "name", "object", "distribution", box=None)
    for each in kinds:
        for entry in registry(each).entries():
            table.add_row(each, entry.name, entry.target, entry.distribution)
    Console(width=200).print(table)
