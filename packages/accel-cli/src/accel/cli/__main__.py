"""`python -m accel.cli` (used by `accelerate launch -m accel.cli ...`)."""

from accel.cli.main import run

run()
