"""Run status from how training ended: FINISHED, FAILED (with the error), KILLED on Ctrl-C."""

from __future__ import annotations

import sys
import traceback

STATUSES = ("FINISHED", "FAILED", "KILLED")


def resolve_status(status: str, error: BaseException | None) -> tuple[str, BaseException | None]:
    """The final status and error; the exception being handled fills in a missing `error`."""
    status = status.upper()
    if status not in STATUSES:
        from accel.core.errors import ConfigError

        raise ConfigError(f"end_run: unknown status {status!r}; valid: {', '.join(STATUSES)}")
    if error is None and status != "FINISHED":
        error = sys.exc_info()[1]
    if isinstance(error, KeyboardInterrupt):
        status = "KILLED"
    return status, error


def error_tags(error: BaseException | None) -> dict[str, str]:
    """`accel.error` (type and message) and `accel.error.traceback` for a failed run."""
    if error is None:
        return {}
    message = f"{type(error).__name__}: {error}".strip().rstrip(":")
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {"accel.error": message, "accel.error.traceback": text[-7000:]}
