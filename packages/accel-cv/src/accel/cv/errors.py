"""The error accel-cv raises for a bad tensor: one line naming the expected shape or range."""

from __future__ import annotations

from accel.core.errors import AccelError


class InputError(AccelError, ValueError):
    """A tensor has the wrong shape, channel count, dtype or value range for the component."""
