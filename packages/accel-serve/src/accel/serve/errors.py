"""The errors a request can get: each is an HTTP status and one line saying what is wrong."""

from __future__ import annotations

from accel.core.errors import AccelError


class ServeError(AccelError):
    """A request that cannot be answered: `status` is its HTTP code, the message one line."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(" ".join(message.split()))
        self.status = status
        self.headers = headers or {}


class QueueFullError(ServeError):
    """The model's queue holds `--max-queue` requests already: try again shortly."""

    def __init__(self, model: str, size: int, retry_after_s: int = 1) -> None:
        super().__init__(
            503,
            f"model {model!r} is busy: its queue holds {size} requests (--max-queue); "
            f"retry after {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )


class ModelLoadError(AccelError):
    """A model file or folder cannot be served (the CLI prints this as one line)."""
