"""A progress display while passes run: one line per step with its time (rich)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Progress:
    """Prints `▸ step ...` with a spinner, then `✓ step (1.2 s)` or `✗ step` to stderr."""

    def __init__(self, quiet: bool = False) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.quiet = quiet

    @contextmanager
    def task(self, label: str) -> Iterator[None]:
        if self.quiet:
            yield
            return
        start = time.perf_counter()
        try:
            with self.console.status(f"{label} ..."):
                yield
        except BaseException:
            self.console.print(f"[red]✗[/] {label} ({time.perf_counter() - start:.1f} s)")
            raise
        self.console.print(f"[green]✓[/] {label} ({time.perf_counter() - start:.1f} s)")

    def done(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message)
