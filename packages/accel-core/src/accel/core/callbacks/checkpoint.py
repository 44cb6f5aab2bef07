"""Save checkpoints every N steps and/or epochs, keep the last and the best k by a metric."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from accel.core.callbacks.base import Callback
from accel.core.checkpoint import list_checkpoints
from accel.core.errors import ConfigError

MODES = ("min", "max")
PREFIX = "epoch="


def checkpoint_name(state: Any) -> str:
    """`epoch=002-step=0000120`, with `-mid` when the epoch is not finished."""
    mid = "" if state.epoch_done else "-mid"
    return f"{PREFIX}{state.epoch:03d}-step={state.global_step:07d}{mid}"


class ModelCheckpoint(Callback):
    """Checkpoint at epoch ends (`every_n_epochs`) and/or steps (`every_n_steps`).

    Keeps the last checkpoint (the resume point) and the `save_top_k` best by `monitor`
    (`"auto"`: val/loss if the fit validates, else train/loss); others are deleted only
    after a newer one is complete, so a kill during a write keeps a loadable checkpoint.
    """

    priority = "low"

    def __init__(
        self,
        every_n_epochs: int | None = 1,
        every_n_steps: int | None = None,
        monitor: str | None = "auto",
        mode: str = "min",
        save_top_k: int = 1,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"checkpoint.mode={mode!r} is not valid; use one of min, max")
        for key, value in (("every_n_epochs", every_n_epochs), ("every_n_steps", every_n_steps)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(f"checkpoint.{key} must be an int >= 1 or null, got {value!r}")
        if isinstance(save_top_k, bool) or not isinstance(save_top_k, int) or save_top_k < 0:
            raise ConfigError(f"checkpoint.save_top_k must be an int >= 0, got {save_top_k!r}")
        self.every_n_epochs, self.every_n_steps = every_n_epochs, every_n_steps
        self.monitor, self.mode, self.save_top_k = monitor, mode, save_top_k
        self.best: list[tuple[float, str]] = []
        self.last: str | None = None
        self.directory: Path | None = None

    @property
    def best_path(self) -> Path | None:
        """The best checkpoint so far (None before the first scored save). After a resume
        into another run directory, the best may still be one of the earlier run's."""
        if not self.best:
            return None
        best = Path(self.best[0][1])
        if best.is_absolute():
            return best
        return None if self.directory is None else self.directory / best

    def on_fit_start(self, state: Any) -> None:
        if state.resumed_from is None:  # a fresh fit does not inherit an earlier fit's ranking
            self.best, self.last = [], None

    def on_checkpoint_load(self, state: Any) -> None:
        """Resumed from another folder: the ranked names live there, so keep them as absolute
        paths (logged from where they are; never pruned, as they are not this run's files)."""
        source = Path(state.resumed_from).parent.resolve()
        if source != (Path(state.run_dir) / "checkpoints").resolve():
            self.best = [(score, str(source / name)) for score, name in self.best]

    def on_optimizer_step(self, state: Any) -> None:
        if self.every_n_steps and state.global_step % self.every_n_steps == 0:
            self._save(state, None)

    def on_epoch_end(self, state: Any) -> None:
        due = self.every_n_epochs is not None and (state.epoch + 1) % self.every_n_epochs == 0
        if due or state.should_stop or state.epoch + 1 >= state.max_epochs:
            self._save(state, self._score(state))

    def on_fit_end(self, state: Any) -> None:
        if self.last != checkpoint_name(state):
            self._save(state, None)

    def _score(self, state: Any) -> float | None:
        if self.monitor is None:
            return None
        monitor = self.monitor
        if monitor == "auto":
            monitor = "val/loss" if state.has_validation else "train/loss"
        if monitor not in state.metrics:
            raise ConfigError(
                f"checkpoint monitors {monitor!r}, which is not a metric; "
                f"available: {', '.join(sorted(state.metrics))}"
            )
        return float(state.metrics[monitor])

    def _save(self, state: Any, score: float | None) -> None:
        name = checkpoint_name(state)
        if name == self.last:
            return
        previous = list(self.best)
        if score is not None and self.save_top_k > 0 and score == score:  # NaN never ranks
            ranked = sorted([*self.best, (score, name)], reverse=self.mode == "max")
            self.best = ranked[: self.save_top_k]
        try:
            path = state.trainer.save_checkpoint(name)
        except BaseException:
            self.best = previous
            raise
        self.last, self.directory = name, path.parent
        if getattr(state.trainer, "is_main_process", True):
            self._prune(path.parent)

    def _prune(self, directory: Path) -> None:
        keep = {self.last, *(name for _, name in self.best)}
        for path in list_checkpoints(directory):
            if path.name.startswith(PREFIX) and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def state_dict(self) -> dict[str, Any]:
        return {"best": [[score, name] for score, name in self.best], "last": self.last}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = [(float(score), str(name)) for score, name in state.get("best", [])]
        self.last = state.get("last")
