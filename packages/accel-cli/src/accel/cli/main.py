"""The `accel` command: versions, the registry, and sub-commands contributed by packages.

Heavy modules (torch, Hydra, plugins) are imported inside the commands that need them, so
`accel --help` stays fast.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback

import typer

from accel.cli.commands import add as add_command
from accel.cli.commands import analyze_data, analyze_model
from accel.cli.commands import testing as test_command
from accel.cli.commands import train as train_command
from accel.cli.commands.checkpoint import checkpoint_app
from accel.cli.commands.configure import configure_app
from accel.cli.commands.pipeline import pipeline_app
from accel.cli.commands.tune import tune_app
from accel.cli.lazy_group import AccelGroup
from accel.cli.registry_command import registry_app
from accel.cli.versions import installed_accel_versions
from accel.core.errors import AccelError, ConfigError

# Exit codes: 1 for a failed run, 2 for a bad command line or config (as click does).
EXIT_FAILURE = 1
EXIT_USAGE = 2
DEBUG_ENV = "ACCEL_DEBUG"  # set to 1 to see the traceback behind an error

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
app.command("train", help=train_command.HELP)(train_command.train)
app.command("test", help=test_command.HELP)(test_command.run_test)
app.command(
    "add", help=add_command.HELP, short_help="Add a model, loss, optimizer, ... to this project."
)(add_command.add)
app.add_typer(configure_app, name="configure")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(checkpoint_app, name="checkpoint")
app.add_typer(tune_app, name="tune")
app.command(
    "analyze-model",
    help=analyze_model.HELP,
    short_help="Parameters, MACs, per-layer table and latency of a model.",
)(analyze_model.analyze_model_command)
app.command(
    "analyze-data",
    help=analyze_data.HELP,
    short_help="Dataset statistics, class balance and a PNG grid of samples.",
)(analyze_data.analyze_data_command)


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

    Examples: [bold]accel train[/], [bold]accel train -m optimizer.lr=0.1,0.01[/],
    [bold]accel registry list losses[/], [bold]accel --version[/]
    """


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point: accel errors become one line on stderr (exit 2 for a bad
    config, 1 otherwise). Any other exception is a bug: one line saying so, exit 1, and the
    traceback with ACCEL_DEBUG=1. Ctrl-C and click's own exits pass through unchanged."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="accel", standalone_mode=True)
    except AccelError as error:
        show_traceback()
        typer.secho(f"error: {one_line(error)}", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_USAGE if isinstance(error, ConfigError) else EXIT_FAILURE)
    except OSError as error:  # the machine said no (a full disk, a read-only folder)
        show_traceback()
        typer.secho(f"error: {os_error_line(error)}", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_FAILURE)
    except Exception as error:  # not KeyboardInterrupt/SystemExit: BaseException passes by
        show_traceback()
        message = f"{type(error).__name__}: {one_line(error)}"
        typer.secho(
            f"error: internal error: {message} (please report it; set {DEBUG_ENV}=1 for the "
            "traceback)",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(EXIT_FAILURE)


def os_error_line(error: OSError) -> str:
    """`No space left on device: runs/x/config.yaml; free some space and run again`."""
    where = f": {error.filename}" if error.filename else ""
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    hint = "; free some space and run again" if full else ""
    return f"{error.strerror or one_line(error)}{where}{hint}"


def show_traceback() -> None:
    """The traceback of the exception being handled, on stderr, when ACCEL_DEBUG is set."""
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        traceback.print_exc()


def one_line(error: BaseException) -> str:
    """An error message folded onto one line."""
    return " ".join(str(error).split())


if __name__ == "__main__":
    run()
