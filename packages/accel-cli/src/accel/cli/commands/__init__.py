"""The `accel` sub-commands. Each module imports only typer at import time (fast `--help`)."""
