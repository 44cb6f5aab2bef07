"""The `accel` command: versions, the registry, and sub-commands contributed by packages.

Heavy modules (torch, Hydra, plugins) are imported inside the commands that need them, so
`accel --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from accel.cli.lazy_group import AccelGroup
from accel.cli.registry_command import registry_app
from accel.cli.versions import installed_accel_versions
from accel.core.errors import AccelError

app = typer.Typer(
    name="accel",
    cls=AccelGroup,
    help="accel: train, compress and track PyTorch models.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
app.add_typer(registry_app, name="registry")


def _print_versions(value: bool) -> None:
    if value:
        for name, version in installed_accel_versions().items():
            typer.echo(f"{name} {version}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_print_versions,
        is_eager=True,
        help="Print the version of every installed accel package and exit.",
    ),
) -> None:
    """accel: train, compress and track PyTorch models.

    Examples: [bold]accel registry list losses[/], [bold]accel --version[/]
    """


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point: accel errors become one line on stderr and exit code 1."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="accel", standalone_mode=True)
    except AccelError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
