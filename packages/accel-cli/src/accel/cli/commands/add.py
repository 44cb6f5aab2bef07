"""`accel add KIND NAME`: scaffold a component of this project."""

from __future__ import annotations

from pathlib import Path

import typer

HELP = """Add a component to this project: a config file in configs/<group>/, and for code
components (model, loss, transform, callback) a plugin skeleton in plugins/ with its entry
point. The group's INDEX.md is updated. The new name works at once, before any install.

Examples:

  accel add loss my_loss        then: accel train loss=my_loss

  accel add model tiny_cnn      then: accel train model=tiny_cnn

  accel add optimizer fast_sgd --base sgd     then: accel train optimizer=fast_sgd
"""

KIND_HELP = "model, optimizer, scheduler, loss, transform or callback."


def add(
    kind: str = typer.Argument(..., help=KIND_HELP, show_default=False),
    name: str = typer.Argument(..., help="lower_snake_case name of the new component."),
    base: str | None = typer.Option(
        None,
        "--base",
        help="For optimizer/scheduler: the preset or registry name to start from (e.g. sgd), "
        "or a dotted path (e.g. torch.optim.SGD).",
    ),
) -> None:
    from accel.cli.scaffold.add import add_component

    root = Path.cwd()
    for path in dict.fromkeys(add_component(kind, name, root, base)):
        typer.echo(f"wrote {path.relative_to(root) if path.is_relative_to(root) else path}")
