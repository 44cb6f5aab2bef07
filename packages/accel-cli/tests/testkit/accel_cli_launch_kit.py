"""A callback for the multi-process launch tests: every process stops at one step and waits."""

from __future__ import annotations

import os
import time
from typing import Any


class PauseAtStep:
    """At optimizer step `step` (after that step's checkpoint), write `pid-rank<R>` in the run
    directory and sleep, so a test can kill one process at a known point."""

    priority = "lowest"  # after the checkpoint callback

    def __init__(self, step: int, seconds: float = 120.0) -> None:
        self.step, self.seconds = step, seconds

    def on_optimizer_step(self, state: Any) -> None:
        if state.global_step == self.step:
            rank = os.environ.get("RANK", "0")
            (state.run_dir / f"pid-rank{rank}").write_text(str(os.getpid()))
            time.sleep(self.seconds)
