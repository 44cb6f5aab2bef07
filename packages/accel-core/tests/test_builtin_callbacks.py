"""The built-in callbacks on real (tiny) training runs, and the tracker fed through its protocol."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from core_tiny import TinyData, TinyNet

from accel.core.callbacks.checkpoint import ModelCheckpoint
from accel.core.callbacks.early_stopping import EarlyStopping
from accel.core.callbacks.metric_logger import MetricLogger
from accel.core.callbacks.system_monitor import SystemMonitor
from accel.core.callbacks.throughput import Throughput
from accel.core.callbacks.tracker import TrackerCallback, flatten
from accel.core.checkpoint import list_checkpoints, load_checkpoint
from accel.core.errors import ConfigError, ProtocolError
from accel.core.protocols import Tracker
from accel.core.registry import build
from accel.core.runtime import Trainer


class FileTracker:
    """A real, minimal Tracker: appends every call to a JSONL file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _log(self, call: str, **data: Any) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"call": call, **data}, default=str) + "\n")

    def start_run(self, name: str | None = None, tags: Any = None) -> None:
        self._log("start_run", name=name, tags=tags)

    def log_params(self, params: Any) -> None:
        self._log("log_params", params=dict(params))

    def log_metrics(self, metrics: Any, step: int) -> None:
        self._log("log_metrics", metrics=dict(metrics), step=step)

    def log_artifact(self, path: str, artifact_path: str | None = None) -> None:
        self._log("log_artifact", path=path)

    def log_model(self, path: str, name: str) -> None:
        self._log("log_model", path=path, name=name)

    def end_run(self, status: str = "FINISHED") -> None:
        self._log("end_run", status=status)

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.path.read_text().splitlines()]


def fit(
    tmp_path: Path, callbacks: list[Any], max_epochs: int = 3, lr: float = 1e-2, **kw: Any
) -> Trainer:
    data, model = TinyData(), TinyNet()
    trainer = Trainer(max_epochs=max_epochs, run_dir=tmp_path, seed=0, callbacks=callbacks, **kw)
    trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=torch.optim.SGD(model.parameters(), lr=lr),
        loss="cross_entropy",
        metrics=["accuracy"],
    )
    return trainer


def test_every_builtin_is_registered_and_buildable_by_name() -> None:
    names = [
        "progress",
        "metric_logger",
        "checkpoint",
        "early_stopping",
        "lr_monitor",
        "system_monitor",
        "throughput",
    ]
    for name in names:
        assert hasattr(build("callbacks", name), "priority")


def test_early_stopping_stops_when_the_metric_does_not_improve(tmp_path: Path) -> None:
    stopper = EarlyStopping(monitor="val/loss", patience=2)
    fit(tmp_path, [stopper], max_epochs=10, lr=0.0)  # lr 0: val/loss never improves
    assert stopper.stopped_epoch == 2
    manifest, _ = load_checkpoint(tmp_path)
    assert manifest["state"]["loop"]["epoch"] == 2  # stopped runs still checkpoint their end


def test_early_stopping_on_a_missing_metric_lists_the_metrics(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"early_stopping monitors 'val/acc', which is not a metric; available: "
        r".*val/accuracy",
    ):
        fit(tmp_path, [EarlyStopping(monitor="val/acc")], max_epochs=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "up"}, r"early_stopping\.mode='up' is not valid; use one of min, max"),
        ({"patience": 0}, r"early_stopping\.patience must be an int >= 1, got 0"),
    ],
)
def test_early_stopping_bad_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EarlyStopping(**kwargs)


def test_checkpoint_keeps_the_best_k_and_the_last(tmp_path: Path) -> None:
    checkpoint = ModelCheckpoint(monitor="val/accuracy", mode="max", save_top_k=2)
    fit(tmp_path, [checkpoint], max_epochs=4)
    kept = {p.name for p in list_checkpoints(tmp_path / "checkpoints")}
    expected = {name for _, name in checkpoint.best} | {checkpoint.last}
    assert kept == expected
    assert len(checkpoint.best) == 2
    assert checkpoint.best[0][0] >= checkpoint.best[1][0]
    scores = {}
    for line in (tmp_path / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["kind"] == "epoch":
            scores[f"epoch={record['epoch']:03d}-step={record['step']:07d}"] = record[
                "val/accuracy"
            ]
    best_two = sorted(scores.values(), reverse=True)[:2]
    assert [score for score, _ in checkpoint.best] == pytest.approx(best_two)
    assert checkpoint.best_path == tmp_path / "checkpoints" / checkpoint.best[0][1]


def test_checkpoint_every_n_steps_saves_mid_epoch(tmp_path: Path) -> None:
    saved: list[str] = []

    class Spy(ModelCheckpoint):
        def _prune(self, directory: Path) -> None:
            saved.append(self.last or "")
            super()._prune(directory)

    fit(tmp_path, [Spy(every_n_steps=5, every_n_epochs=None)], max_epochs=1)
    assert saved == [
        "epoch=000-step=0000005-mid",
        "epoch=000-step=0000010-mid",
        "epoch=000-step=0000012",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "best"}, r"checkpoint\.mode='best' is not valid"),
        ({"every_n_steps": 0}, r"checkpoint\.every_n_steps must be an int >= 1 or null, got 0"),
        ({"save_top_k": -1}, r"checkpoint\.save_top_k must be an int >= 0, got -1"),
    ],
)
def test_checkpoint_bad_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ModelCheckpoint(**kwargs)


def test_metric_logger_writes_steps_epochs_with_lr(tmp_path: Path) -> None:
    fit(tmp_path, [], max_epochs=2, log_every_n_steps=4)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    kinds = [r["kind"] for r in records]
    assert kinds.count("step") == 6  # 24 steps / 4
    assert kinds.count("epoch") == 2
    assert all("lr" in r for r in records)
    assert {"train/loss", "val/loss", "val/accuracy"} <= set(records[-1])


def test_system_monitor_and_throughput_add_their_metrics(tmp_path: Path) -> None:
    logger = MetricLogger()
    fit(
        tmp_path,
        [logger, SystemMonitor(interval_s=0.0), Throughput()],
        max_epochs=1,
        log_every_n_steps=4,
    )
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    step = [r for r in records if r["kind"] == "step"][-1]
    assert 0 <= step["system/ram_percent"] <= 100
    assert step["system/process_rss_gib"] > 0
    assert step["time/steps_per_s"] > 0
    assert step["time/samples_per_s"] == pytest.approx(step["time/steps_per_s"] * 8)
    assert records[-1]["time/epoch_s"] > 0


def test_tracker_gets_run_params_metrics_artifacts_and_status(tmp_path: Path) -> None:
    tracker = FileTracker(tmp_path / "calls.jsonl")
    assert isinstance(tracker, Tracker)
    fit(
        tmp_path / "run",
        [],
        max_epochs=2,
        tracker=tracker,
        config={"optimizer": {"lr": 0.01}},
        log_every_n_steps=6,
    )
    calls = tracker.calls()
    names = [c["call"] for c in calls]
    assert names[:2] == ["start_run", "log_params"]
    assert calls[1]["params"] == {"optimizer.lr": 0.01}
    assert names[-3:] == ["log_artifact", "log_model", "end_run"]
    assert calls[-1]["status"] == "FINISHED"
    metric_steps = [c["step"] for c in calls if c["call"] == "log_metrics"]
    assert metric_steps == [6, 12, 12, 18, 24, 24]  # logging steps + each epoch end
    assert Path(calls[-2]["path"]).parent == tmp_path / "run" / "checkpoints"
    assert (Path(calls[-2]["path"]) / "manifest.json").is_file()


def test_resuming_into_a_new_run_dir_logs_the_best_checkpoint_where_it_lives(
    tmp_path: Path,
) -> None:
    # mode=max on val/loss: the first run's (worse-trained) checkpoint stays the "best"
    first = fit(tmp_path / "first", [ModelCheckpoint(mode="max")], max_epochs=2)
    best = next(c for c in first.callbacks if isinstance(c, ModelCheckpoint)).best_path
    tracker = FileTracker(tmp_path / "calls.jsonl")
    data, model = TinyData(), TinyNet()
    trainer = Trainer(
        max_epochs=3,
        run_dir=tmp_path / "second",
        seed=0,
        tracker=tracker,
        callbacks=[ModelCheckpoint(mode="max")],
    )
    trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=torch.optim.SGD(model.parameters(), lr=1e-2),
        loss="cross_entropy",
        resume=tmp_path / "first",
    )
    calls = tracker.calls()
    logged = Path(next(c for c in calls if c["call"] == "log_model")["path"])
    assert logged == best
    assert (logged / "manifest.json").is_file()
    assert calls[-1] == {"call": "end_run", "status": "FINISHED"}
    assert best is not None
    assert best.is_dir()


def test_tracker_run_is_marked_failed_when_training_fails(tmp_path: Path) -> None:
    tracker = FileTracker(tmp_path / "calls.jsonl")
    trainer = Trainer(run_dir=tmp_path, tracker=tracker, default_callbacks=False)
    with pytest.raises(ConfigError):
        trainer.fit(
            TinyNet(),
            TinyData().train_dataloader(),
            optimizer={"name": "sgd", "lr": 0.1},
            loss=torch.nn.CrossEntropyLoss(reduction="none"),
        )
    assert tracker.calls()[-1] == {"call": "end_run", "status": "FAILED"}


def test_a_tracker_missing_methods_is_rejected_by_name() -> None:
    class Half:
        def start_run(self, name: str | None = None, tags: Any = None) -> None: ...

    with pytest.raises(
        ProtocolError,
        match=r"trackers 'Half' built a .*Half that is not a Tracker: missing log_params, "
        r"log_metrics",
    ):
        Trainer(tracker=Half())


def test_flatten_nests_keys_with_dots() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": None}) == {
        "a.b": 1,
        "a.c.d": [1, 2],
        "e": None,
    }


def test_tracker_callback_is_added_once() -> None:
    tracker = FileTracker(Path("unused"))
    trainer = Trainer(tracker=tracker, callbacks=[TrackerCallback(tracker)])
    assert sum(isinstance(c, TrackerCallback) for c in trainer.callbacks) == 1


def test_a_second_fresh_fit_checkpoints_again_and_forgets_the_old_ranking(tmp_path: Path) -> None:
    checkpoint = ModelCheckpoint()
    trainer = fit(tmp_path, [checkpoint], max_epochs=1)
    first = (tmp_path / "checkpoints" / "epoch=000-step=0000012" / "manifest.json").stat()
    data, model = TinyData(), TinyNet()
    trainer.fit(
        model,
        data.train_dataloader(),
        data.val_dataloader(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        loss="cross_entropy",
    )
    second = (tmp_path / "checkpoints" / "epoch=000-step=0000012" / "manifest.json").stat()
    assert second.st_mtime_ns > first.st_mtime_ns
    assert len(checkpoint.best) == 1


def test_tracker_callback_builds_its_tracker_from_a_registry_spec() -> None:
    from accel.core.registry import registry

    registry("trackers").add("file_tracker", FileTracker, override=True)
    try:
        callback = build(
            "callbacks", {"name": "tracker", "tracker": {"name": "file_tracker", "path": "x.jsonl"}}
        )
        assert isinstance(callback.tracker, FileTracker)
    finally:
        registry("trackers").remove("file_tracker")


def test_metric_logger_also_writes_a_csv_with_every_metric_column(tmp_path: Path) -> None:
    import csv

    fit(tmp_path, [], max_epochs=2, log_every_n_steps=6)
    with open(tmp_path / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["kind"] for r in rows] == ["step", "step", "epoch", "step", "step", "epoch"]
    assert {"train/loss", "val/loss", "val/accuracy", "lr"} <= set(rows[-1])
    assert rows[0]["val/loss"] == ""  # step rows have no validation numbers


def test_progress_bar_shows_epochs_rate_and_metrics(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from accel.core.callbacks.progress import ProgressBar

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200)
    fit(tmp_path, [ProgressBar(refresh_s=0.0, console=console)], max_epochs=2, log_every_n_steps=4)
    text = out.getvalue()
    assert "epoch 1/2" in text
    assert "epoch 2/2" in text
    assert "12/12" in text
    assert "it/s" in text
    assert "val/accuracy=" in text
