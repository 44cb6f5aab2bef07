"""Arguments and options shared by the config-driven commands."""

from __future__ import annotations

from typing import Any

import typer

OVERRIDES_HELP = (
    "Config overrides in Hydra's grammar: key=value, group=option, +new.key=value, ~key."
)


def _complete(incomplete: str) -> list[str]:
    from accel.cli.completion import complete_override

    return complete_override(incomplete)


OVERRIDES: Any = typer.Argument(
    None, help=OVERRIDES_HELP, show_default=False, autocompletion=_complete
)
MULTIRUN: Any = typer.Option(
    False,
    "--multirun",
    "-m",
    help="Sweep: run one job per combination of comma-separated values, each in its own "
    "run directory.",
)
CFG: Any = typer.Option(False, "--cfg", help="Print the resolved config and exit.")
# The same spelling as accel-core's TRUST_FLAG; a command-line option only, never a config key,
# so a stored config cannot switch it on.
TRUST_FILE: Any = typer.Option(
    False,
    "--trust-file",
    help="Trust the files this command opens (checkpoints, stored configs, model files): let "
    "them name code to import and call (_target_). Only for files from a source you trust.",
)
YES: Any = typer.Option(
    False, "--yes", "-y", help="Run a sweep of more than 1,000 jobs without refusing it."
)


def stats(result: Any) -> dict[str, Any]:
    """The metrics of a runtime result: a mapping, or an object with `.metrics`."""
    if isinstance(result, dict):
        return dict(result)
    metrics = getattr(result, "metrics", None)
    return dict(metrics) if isinstance(metrics, dict) else {}
