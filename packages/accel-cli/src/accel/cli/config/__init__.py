"""The config system: Hydra composition, validation, sweeps and run directories."""
