"""Engines place model and data on a device and run the numeric side of a step."""
