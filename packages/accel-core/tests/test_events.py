"""Events and priorities: a closed set, unknown names rejected with the valid list, and every
event fired by a real fit, validation and test, in the order the runtime promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from core_tiny import TinyData, TinyNet

from accel.core.callbacks import Callback
from accel.core.callbacks.checkpoint import ModelCheckpoint
from accel.core.errors import ConfigError
from accel.core.events import EVENTS, PRIORITIES, check_event, resolve_priority
from accel.core.runtime import Trainer

STEP = ["batch_start", "before_backward", "after_backward", "optimizer_step", "batch_end"]


class Recorder(Callback):
    """Records every event it sees, by name (one `on_<event>` per name in EVENTS, below).

    Lowest priority: it sees an event after the built-in callbacks have handled it, so the
    checkpoint that ModelCheckpoint saves at an epoch end is recorded before that epoch end."""

    priority = "lowest"

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.errors: list[BaseException | None] = []


def _recording(event: str) -> Any:
    def handler(self: Recorder, state: Any) -> None:
        self.seen.append(event)
        if event == "exception":
            self.errors.append(state.error)

    return handler


for _event in EVENTS:
    setattr(Recorder, f"on_{_event}", _recording(_event))


def epoch(train_batches: int = 2, val_batches: int = 1) -> list[str]:
    """One epoch of a fit that validates and checkpoints at its end."""
    return [
        "epoch_start",
        *STEP * train_batches,
        "validation_start",
        *["eval_batch_end"] * val_batches,
        "validation_end",
        "checkpoint_save",
        "epoch_end",
    ]


FIT = ["fit_start", *epoch(), *epoch(), "fit_end"]
ALONE = [
    *["validation_start", "eval_batch_end", "validation_end"],
    *["test_start", "eval_batch_end", "test_end"],
]
RESUMED = ["checkpoint_load", "fit_start", *epoch(), "fit_end"]
FAILED_FIT = ["fit_start", "epoch_start", *STEP, "batch_start", "exception"]
FAILED_TEST = ["test_start", "exception"]


def tiny_fit(run_dir: Path, recorder: Recorder, *, max_epochs: int, **fit: Any) -> Trainer:
    """Fit TinyNet on 16 samples (2 train batches, 1 validation batch) with a checkpoint
    at each epoch end; returns the trainer."""
    torch.manual_seed(0)
    data, model = TinyData(batch_size=8, n=16), TinyNet()
    trainer = Trainer(
        max_epochs=max_epochs,
        run_dir=run_dir,
        seed=0,
        callbacks=[ModelCheckpoint(), recorder],
        default_callbacks=False,
    )
    options: dict[str, Any] = {"loss": "cross_entropy", **fit}
    trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        **options,
    )
    return trainer


def test_a_fit_fires_its_events_in_order(tmp_path: Path) -> None:
    recorder = Recorder()
    tiny_fit(tmp_path, recorder, max_epochs=2)
    assert recorder.seen == FIT


def test_validate_and_test_alone_fire_their_stage_events(tmp_path: Path) -> None:
    recorder = Recorder()
    trainer = Trainer(run_dir=tmp_path, callbacks=[recorder], default_callbacks=False)
    data, model = TinyData(batch_size=8, n=16), TinyNet()
    trainer.validate(model, data.val_dataloader(), metrics=["accuracy"])
    trainer.test(model, data.test_dataloader(), metrics=["accuracy"])
    assert recorder.seen == ALONE


def test_a_resumed_fit_loads_its_checkpoint_before_it_starts(tmp_path: Path) -> None:
    tiny_fit(tmp_path, Recorder(), max_epochs=1)
    recorder = Recorder()
    tiny_fit(tmp_path, recorder, max_epochs=2, resume="last")
    assert recorder.seen == RESUMED


def test_a_failing_fit_fires_exception_with_the_error_and_no_end(tmp_path: Path) -> None:
    calls = 0

    def fails_on_the_second_batch(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the second batch failed")
        return torch.nn.functional.cross_entropy(output, target)

    recorder = Recorder()
    with pytest.raises(RuntimeError, match="the second batch failed") as raised:
        tiny_fit(tmp_path, recorder, max_epochs=2, loss=fails_on_the_second_batch)
    assert recorder.seen == FAILED_FIT
    assert recorder.errors == [raised.value]


def test_a_failing_test_fires_exception_after_test_start(tmp_path: Path) -> None:
    def broken(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise ValueError("no loss today")

    recorder = Recorder()
    trainer = Trainer(run_dir=tmp_path, callbacks=[recorder], default_callbacks=False)
    data = TinyData(batch_size=8, n=16)
    with pytest.raises(ValueError, match="no loss today"):
        trainer.test(TinyNet(), data.test_dataloader(), loss=broken)
    assert recorder.seen == FAILED_TEST


def test_every_event_is_fired_by_one_of_the_runs_above() -> None:
    """The sequences the tests above assert, together, hold every event: an event added to
    EVENTS that no run fires fails here."""
    assert set().union(FIT, ALONE, RESUMED, FAILED_FIT, FAILED_TEST) == set(EVENTS)


def test_unknown_event_lists_valid_events_and_suggests() -> None:
    with pytest.raises(
        ConfigError,
        match=r"unknown event 'epoch_ned'; valid events: fit_start, .*Did you mean 'epoch_end'",
    ):
        check_event("epoch_ned")


def test_named_and_integer_priorities() -> None:
    assert resolve_priority("highest") < resolve_priority("normal") < resolve_priority("lowest")
    assert resolve_priority(7) == 7
    assert PRIORITIES["normal"] == 50


@pytest.mark.parametrize("bad", ["urgent", True, 1.5])
def test_unknown_priority_lists_valid_names(bad: object) -> None:
    with pytest.raises(
        ConfigError,
        match=r"callback priority .*(use an int or one of: highest \(0\), high \(25\), "
        r"normal \(50\), low \(75\), lowest \(100\)|must be an int)",
    ):
        resolve_priority(bad)  # type: ignore[arg-type]
