"""The training process's link to a real sender process."""

from __future__ import annotations

import logging
import subprocess
import sys

from mlflow_helpers import steps_of
from test_sender_process import _spool_metrics

from accel.mlflow.sender_link import SenderLink
from accel.mlflow.state import RunState


def test_a_sender_killed_mid_run_is_started_again_and_nothing_is_lost(
    mlflow_server, client, run_dir, caplog
):
    RunState(tracking_uri=mlflow_server.uri, experiment="link").save(run_dir)
    link = SenderLink(interval=0.05).acquire()
    try:
        link.open(str(run_dir), 6000)
        _spool_metrics(run_dir, range(0, 30))
        assert link.flush(str(run_dir), timeout=30)
        first = link._process
        assert first is not None
        first.kill()
        first.wait()
        _spool_metrics(run_dir, range(30, 60))
        with caplog.at_level(logging.WARNING):
            assert link.flush(str(run_dir), timeout=30)  # a new sender learned the open run
        assert link._process is not first
        assert "sender process exited" in caplog.text
    finally:
        link.release()
    assert steps_of(client, RunState.load(run_dir).run_id, "loss") == list(range(60))


TRAINING = """
import sys
from accel.mlflow.tracker import MlflowTracker
tracker = MlflowTracker(uri=sys.argv[1], run_dir=sys.argv[2], flush_interval=0.05, plots=False)
tracker.start_run("light")
for step in range(500):
    tracker.log_metrics({"loss": 1.0 / (step + 1)}, step)
tracker.end_run()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"mlflow", "requests", "sqlalchemy"})
print(",".join(heavy))
"""


def test_the_training_process_never_imports_mlflow_to_log_metrics(mlflow_server, client, run_dir):
    done = subprocess.run(
        [sys.executable, "-c", TRAINING, mlflow_server.uri, str(run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""  # sending happened in the sender process
    run_id = RunState.load(run_dir / "mlflow").run_id
    assert steps_of(client, run_id, "loss") == list(range(500))
    assert client.get_run(run_id).info.status == "FINISHED"
