"""What callbacks see: the position of the loop and its latest numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(eq=False)
class RunState:
    """Mutable loop state handed to every callback handler.

    `batch_idx` counts the batches of the current epoch already trained on; `logged` holds the
    step metrics on logging steps (None otherwise, so callbacks skip cheaply); `metrics` holds
    the latest epoch-level and evaluation metrics.

    `evaluate_model(model, prefix)` (set during an evaluation, else None) evaluates another
    model, e.g. an averaged copy, on the same data with the same loss and metrics, leaving the
    random number generators untouched; `train_loader` is the fit's training data as given
    (e.g. for recomputing BatchNorm statistics).
    """

    trainer: Any
    run_dir: Path
    stage: str = "fit"
    model: Any = None
    optimizer: Any = None
    max_epochs: int = 1
    epoch: int = 0
    global_step: int = 0
    batch_idx: int = 0
    num_batches: int = 0
    batch_size: int | None = None
    epoch_done: bool = False
    loss: Any = None
    logged: dict[str, float] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    should_stop: bool = False
    in_fit: bool = False
    has_validation: bool = False
    eval_stage: str | None = None
    eval_batch_idx: int = 0
    eval_num_batches: int = 0
    checkpoint_path: Path | None = None
    resumed_from: Path | None = None
    error: BaseException | None = None
    evaluate_model: Callable[[Any, str], dict[str, float]] | None = None
    train_loader: Any = None
