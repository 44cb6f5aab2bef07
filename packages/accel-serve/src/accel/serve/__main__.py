"""`python -m accel.serve PATH ...`: the server without accel-cli."""

from accel.serve.cli import main

main()
