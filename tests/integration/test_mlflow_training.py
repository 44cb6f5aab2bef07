"""accel-core's Trainer reporting through accel-mlflow to a real `mlflow server`.

Checked through MLflow's own client against the runtime's own metrics.jsonl: every flattened
param, every metric at every logged step, the artifacts and the registered model; and a
server outage in the middle of training (a TCP proxy cut by a callback) loses nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from accel.core.runtime import Trainer
from accel.mlflow.flatten import flatten_config
from accel.mlflow.sanitize import sanitize_params
from accel.mlflow.testing import FlakyProxy, MlflowServer
from accel.mlflow.tracker import MlflowTracker

CONFIG: dict[str, Any] = {
    "model": {"name": "mlp", "hidden": [16, 8]},
    "optimizer": {"name": "adam", "lr": 0.01},
    "trainer": {"max_epochs": 3, "log_every_n_steps": 1},
    "notes": "n" * 7000,
    "odd key?": True,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    srv = MlflowServer(tmp_path_factory.mktemp("mlflow-integration")).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: MlflowServer) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)


def _loaders() -> tuple[DataLoader, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 8, generator=generator)
    data = TensorDataset(x, x[:, :3].argmax(1))
    return DataLoader(data, batch_size=8, shuffle=True), DataLoader(data, batch_size=32)


def _fit(run_dir: Path, tracker: MlflowTracker, callbacks: list[Any] | None = None) -> nn.Module:
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    trainer = Trainer(
        max_epochs=3,
        run_dir=run_dir,
        seed=0,
        tracker=tracker,
        config=CONFIG,
        log_every_n_steps=1,
        callbacks=callbacks,
    )
    train, val = _loaders()
    trainer.fit(
        model, train, val, optimizer=torch.optim.Adam(model.parameters()), loss="cross_entropy"
    )
    return model


class RecordingTracker(MlflowTracker):
    """The real tracker, also remembering what the runtime handed it (the expected data)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.given: dict[str, list[tuple[int, float]]] = defaultdict(list)

    def log_metrics(self, metrics: Any, step: int) -> None:
        for key, value in metrics.items():
            self.given[key].append((int(step), float(value)))
        super().log_metrics(metrics, step)


def _assert_every_metric_step(client: Any, tracker: RecordingTracker) -> None:
    run_id = tracker.run_id
    assert {"train/loss", "val/loss"} <= set(tracker.given)
    for key, given in tracker.given.items():
        history = client.get_metric_history(run_id, key)
        stored = sorted((m.step, m.value) for m in history)
        assert len(stored) == len(given), key  # every logged value exactly once
        assert stored == sorted(given), key


def test_training_run_lands_in_mlflow_with_params_metrics_artifacts_and_model(
    server: MlflowServer, client: Any, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    tracker = RecordingTracker(
        uri=server.uri, run_dir=run_dir, experiment="integration", flush_interval=0.1
    )
    _fit(run_dir, tracker)
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    expected = sanitize_params(flatten_config(CONFIG))
    assert {k: run.data.params.get(k) for k in expected} == expected
    _assert_every_metric_step(client, tracker)
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config", "plots", "models"} <= files
    version = client.get_model_version_by_alias("integration.model", "candidate")
    assert version.run_id == run.info.run_id


class _Outage:
    """A callback that cuts the network to the server at one step and restores it later."""

    priority = 0

    def __init__(self, proxy: FlakyProxy, down_at: int, up_at: int) -> None:
        self.proxy, self.down_at, self.up_at = proxy, down_at, up_at

    def on_batch_end(self, state: Any) -> None:
        if state.global_step == self.down_at:
            self.proxy.down()
        if state.global_step == self.up_at:
            self.proxy.up()


def test_outage_mid_training_then_accel_mlflow_sync_loses_nothing(
    server: MlflowServer, client: Any, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    proxy = FlakyProxy(server.port).up()
    tracker = RecordingTracker(uri=proxy.uri, run_dir=run_dir, flush_interval=0.05, flush_timeout=2)
    _fit(run_dir, tracker, callbacks=[_Outage(proxy, down_at=5, up_at=10**9)])  # never back
    proxy.up()
    done = subprocess.run(
        [sys.executable, "-m", "accel.cli", "mlflow", "sync", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    proxy.down()
    assert tracker.run_id is not None  # created by the sync if the cut came first
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    _assert_every_metric_step(client, tracker)


def test_resuming_into_a_new_run_dir_logs_the_best_model_and_finishes(
    server: MlflowServer, client: Any, tmp_path: Path
) -> None:
    """The best checkpoint stays the first run's (mode=max): the resumed run logs it from
    there (it failed at the very end with '<new dir>/checkpoints/<old best> does not exist',
    its test stage skipped and the run left RUNNING)."""
    from accel.core.callbacks.checkpoint import ModelCheckpoint

    def fit(run_dir: Path, max_epochs: int, resume: Path | None = None) -> MlflowTracker:
        tracker = MlflowTracker(uri=server.uri, run_dir=run_dir, flush_interval=0.1)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        trainer = Trainer(max_epochs=max_epochs, run_dir=run_dir, seed=0, tracker=tracker,
                          callbacks=[ModelCheckpoint(mode="max")])  # fmt: skip
        train, val = _loaders()
        optimizer = torch.optim.Adam(model.parameters())
        trainer.fit(model, train, val, optimizer=optimizer, loss="cross_entropy", resume=resume)
        return tracker

    fit(tmp_path / "first", max_epochs=1)
    tracker = fit(tmp_path / "second", max_epochs=2, resume=tmp_path / "first")
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    logged = [a.path for a in client.list_artifacts(run.info.run_id, "models/model")]
    assert any(path.endswith("manifest.json") for path in logged), logged
