"""Packaged configs for the accel command (`data=wine`, `model=mlp`, ...), found through the
`accel.configs` entry point."""
