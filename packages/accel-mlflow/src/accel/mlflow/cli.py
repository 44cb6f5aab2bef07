"""`accel mlflow ...`: commands for runs tracked with MLflow (contributed via accel.commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="mlflow",
    help="MLflow tracking: replay runs spooled while the server was away.",
    no_args_is_help=True,
)


@app.command()
def sync(
    run_dir: Annotated[Path, typer.Argument(help="An accel run directory (children included).")],
    trust_file: Annotated[
        bool,
        typer.Option("--trust-file", help="Also send files the spool names outside RUN_DIR."),
    ] = False,
) -> None:
    """Send everything a run directory still holds to its MLflow server.

    Files the spool names are sent only from inside RUN_DIR (a run directory may come from
    someone else), unless --trust-file.
    """
    from accel.mlflow.sync import sync_run_dir

    results = sync_run_dir(run_dir, trust=trust_file)
    for result in results:
        line = f"{result.directory}: sent {result.sent} record(s)"
        if result.error:
            line += f"; server unavailable: {result.error}"
        elif result.pending:
            line += "; some records remain"
        typer.echo(line)
    if any(r.pending for r in results):
        raise typer.Exit(code=1)


@app.command()
def status(
    run_dir: Annotated[Path, typer.Argument(help="An accel run directory.")],
) -> None:
    """Show each run's MLflow id and how many bytes still wait in its spool."""
    from accel.mlflow.spool import Spool
    from accel.mlflow.state import RunState
    from accel.mlflow.sync import find_state_dirs

    for directory in find_state_dirs(run_dir):
        state = RunState.load(directory)
        spool = Spool(directory)
        waiting = spool.size() - spool.cursor()
        run_id = state.run_id if state else None
        uri = state.tracking_uri if state else "?"
        typer.echo(
            f"{directory}: run {run_id or '(not created yet)'} at {uri}, {waiting} bytes unsent"
        )
