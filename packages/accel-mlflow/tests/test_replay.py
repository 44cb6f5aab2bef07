"""Outages: the server unreachable at start, flapping, stopped mid-run; nothing is lost."""

from __future__ import annotations

from mlflow_helpers import steps_of
from typer.testing import CliRunner

from accel.core.testing import hang_guard
from accel.mlflow.cli import app
from accel.mlflow.spool import Spool
from accel.mlflow.testing import FlakyProxy
from accel.mlflow.tracker import MlflowTracker


def _log_steps(tracker: MlflowTracker, steps: range) -> None:
    """Log two metrics per step, as a training loop does. A call that waited on the network
    (retrying a refused connection, or a stopped server) would hang a loop of 100 steps, so
    they run under a hang guard; the time a call takes is measured by
    benchmarks/tracker_outage.py, not judged here."""
    with hang_guard(60):
        for step in steps:
            tracker.log_metrics({"train/loss": 1.0 / (step + 1), "train/acc": step / 1000}, step)


def test_unreachable_at_start_and_flapping_loses_nothing(mlflow_server, client, run_dir):
    proxy = FlakyProxy(mlflow_server.port)  # down: connection refused
    tracker = MlflowTracker(uri=proxy.uri, run_dir=run_dir, flush_interval=0.05, flush_timeout=5)
    tracker.start_run("flapping")
    tracker.log_params({"lr": 0.1})
    _log_steps(tracker, range(0, 100))
    assert not tracker.flush(timeout=2)  # nothing sent, training went on
    assert tracker.run_id is None
    assert Spool(tracker.directory).has_pending()
    for start in range(100, 400, 100):  # up, down, up, ...
        proxy.up()
        assert tracker.flush(timeout=60)  # the sender's next retry, then a busy server
        _log_steps(tracker, range(start, start + 50))
        proxy.down()
        _log_steps(tracker, range(start + 50, start + 100))
    proxy.up()
    tracker.end_run()
    proxy.down()
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.1"}
    for key in ("train/loss", "train/acc"):
        assert steps_of(client, tracker.run_id, key) == list(range(400))  # no gap, no duplicate
    assert not Spool(tracker.directory).has_pending()


def test_server_stopped_mid_run_then_restarted_and_synced(mlflow_server, client, run_dir):
    tracker = MlflowTracker(
        uri=mlflow_server.uri, run_dir=run_dir, flush_interval=0.05, flush_timeout=3
    )
    tracker.start_run("outage")
    _log_steps(tracker, range(0, 60))
    assert tracker.flush(timeout=60)  # all sent while the server is up (a busy machine is slow)
    mlflow_server.stop()
    try:
        _log_steps(tracker, range(60, 150))
        tracker.end_run()  # the run finishes although the server is gone
        assert Spool(tracker.directory).has_pending()
    finally:
        mlflow_server.start()  # same port, same sqlite backend, same artifacts
    result = CliRunner().invoke(app, ["sync", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "sent" in result.output
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    history = client.get_metric_history(tracker.run_id, "train/loss")
    assert len(history) == 150  # every step exactly once
    assert sorted(m.step for m in history) == list(range(150))
    assert not Spool(tracker.directory).has_pending()


CRASHING_RUN = """
import os, signal, sys
from accel.mlflow.tracker import MlflowTracker
tracker = MlflowTracker(uri=sys.argv[1], run_dir=sys.argv[2], flush_interval=0.05, plots=False)
tracker.start_run("crash")
for step in range(100):
    tracker.log_metrics({"loss": 1.0 / (step + 1)}, step)
tracker.flush(timeout=2)  # the server is away: written to the spool, not sent
os.kill(os.getpid(), signal.SIGKILL)  # no end_run, no atexit: a hard crash
"""


def test_a_hard_crash_while_offline_keeps_every_step_for_sync(mlflow_server, client, run_dir):
    import subprocess
    import sys

    proxy = FlakyProxy(mlflow_server.port)  # down for the whole life of the crashing run
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, proxy.uri, str(run_dir)], timeout=120, check=False
    )
    assert done.returncode == -9
    proxy.up()
    try:
        result = CliRunner().invoke(app, ["sync", str(run_dir)])
    finally:
        proxy.down()
    assert result.exit_code == 0, result.output
    run_id = MlflowTracker(uri=proxy.uri, run_dir=run_dir).run_id
    assert steps_of(client, run_id, "loss") == list(range(100))
    assert client.get_run(run_id).info.status == "RUNNING"  # it never ended
