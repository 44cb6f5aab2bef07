"""Tell 'the server is away, try later' from 'the server refused this data'."""

from __future__ import annotations

TRANSIENT_CODES = frozenset(
    {
        "INTERNAL_ERROR",
        "TEMPORARILY_UNAVAILABLE",
        "REQUEST_LIMIT_EXCEEDED",
        "DEADLINE_EXCEEDED",
        "SERVICE_UNDER_MAINTENANCE",
        "IO_ERROR",
        "ABORTED",
    }
)


class ServerUnavailable(Exception):
    """The tracking server could not be reached (or is overloaded): keep the data, retry."""


def is_transient(error: BaseException) -> bool:
    """True for network, timeout and 5xx-style failures; False for rejected data."""
    from mlflow.exceptions import MlflowException

    if isinstance(error, MlflowException):
        return error.error_code in TRANSIENT_CODES
    return isinstance(error, Exception)
