"""`accel configure init|status|clean|configure`: the project's configs/ folder."""

from __future__ import annotations

from pathlib import Path

import typer

configure_app = typer.Typer(
    help="Manage this project's configs/ folder (over accel's packaged defaults).",
    no_args_is_help=True,
)


def _configs_dir() -> Path:
    from accel.cli.config.compose import project_dir

    return project_dir()


@configure_app.command("init")
def init(
    force: bool = typer.Option(False, "--force", help="Replace an existing main.yaml."),
) -> None:
    """Write a minimal configs/main.yaml (packaged defaults + your changes) and group indexes.

    Example: [bold]accel configure init[/]
    """
    from accel.cli.scaffold.project import init_project

    paths = init_project(_configs_dir(), force)
    typer.echo(f"wrote {len(paths)} files in {_configs_dir()}")


@configure_app.command("status")
def status() -> None:
    """Show which project files exist and every value that differs from the packaged defaults.

    Example: [bold]accel configure status[/]
    """
    from rich.console import Console
    from rich.table import Table

    from accel.cli.config.compose import compose
    from accel.cli.config.load import resolve
    from accel.cli.scaffold.project import changed_values, project_files

    configs = _configs_dir()
    console = Console()
    if not configs.is_dir():
        typer.echo(f"no project configs in {configs}: packaged defaults only")
        return
    files = Table("file", "role", title=f"project configs: {configs}")
    for name, role in project_files(configs):
        files.add_row(name, role)
    console.print(files)
    ours = resolve(compose([], project=configs))
    theirs = resolve(compose([], project=Path("/nonexistent-accel-project")))
    values = Table("key", "packaged default", "project", title="values the project changes")
    for key, default, value in changed_values(ours, theirs):
        values.add_row(key, repr(default), repr(value))
    console.print(values)


@configure_app.command("clean")
def clean(yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")) -> None:
    """Remove the project's configs/ folder (asks first).

    Example: [bold]accel configure clean --yes[/]
    """
    from accel.cli.scaffold.project import remove_project

    configs = _configs_dir()
    if not yes and not typer.confirm(f"remove {configs} and everything in it?"):
        raise typer.Abort()
    remove_project(configs)
    typer.echo(f"removed {configs}")


@configure_app.command("configure")
def copy_all(
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
) -> None:
    """Copy every packaged default into configs/ to edit them in place.

    Example: [bold]accel configure configure[/]
    """
    from accel.cli.scaffold.project import copy_defaults

    paths = copy_defaults(_configs_dir(), force)
    typer.echo(f"wrote {len(paths)} files in {_configs_dir()}")


@configure_app.command("index")
def index() -> None:
    """Regenerate configs/<group>/INDEX.md from config files and the registry.

    Example: [bold]accel configure index[/]
    """
    from accel.cli.scaffold.index import write_indexes

    paths = write_indexes(_configs_dir())
    typer.echo(f"wrote {len(paths)} index files in {_configs_dir()}")
