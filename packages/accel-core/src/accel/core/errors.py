"""The exceptions accel raises: each message is one line naming what is wrong and what is valid."""

from __future__ import annotations


class AccelError(Exception):
    """Base of every error accel raises on purpose (the CLI prints these as one line)."""


class ConfigError(AccelError, ValueError):
    """A config value, key or type is not valid."""


class UnknownNameError(ConfigError):
    """A registry was asked for a name it does not hold."""


class DuplicateNameError(AccelError):
    """Two owners claim the same name in one registry."""


class PluginLoadError(AccelError, ImportError):
    """An entry point exists but its module could not be imported."""


class ProtocolError(AccelError, TypeError):
    """A built component lacks what its kind's protocol requires."""


class MissingPackageError(AccelError, ImportError):
    """A feature needs a package that is not installed."""

    def __init__(self, feature: str, package: str) -> None:
        super().__init__(f"{feature} needs {package}: pip install {package}")
        self.feature = feature
        self.package = package
