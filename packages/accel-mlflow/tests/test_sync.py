"""`accel mlflow sync` of a run directory from someone else sends only that directory's files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from accel.mlflow.cli import app
from accel.mlflow.spool import REJECTED_NAME
from accel.mlflow.testing import FlakyProxy
from accel.mlflow.tracker import MlflowTracker


def offline_run(mlflow_server, run_dir: Path, secret: Path) -> tuple[MlflowTracker, FlakyProxy]:
    """A run that spooled (server away) a file of its own and, as a crafted spool would, one
    from outside its run directory."""
    proxy = FlakyProxy(mlflow_server.port)  # down
    tracker = MlflowTracker(uri=proxy.uri, run_dir=run_dir, flush_interval=0.05, plots=False)
    tracker.start_run("shared")
    own = run_dir / "report.md"
    own.write_text("# report")
    tracker.log_artifact(str(own))
    tracker.log_artifact(str(secret))
    tracker.end_run()
    return tracker, proxy


def sync_online(proxy: FlakyProxy, run_dir: Path, *flags: str) -> str:
    """`accel mlflow sync RUN_DIR` while the server answers; the run id it sent to."""
    proxy.up()
    try:
        result = CliRunner().invoke(app, ["sync", str(run_dir), *flags])
    finally:
        proxy.down()
    assert result.exit_code == 0, result.output
    run_id = MlflowTracker(uri=proxy.uri, run_dir=run_dir).run_id
    assert run_id is not None
    return run_id


def artifacts(client, run_id: str) -> list[str]:
    return sorted(a.path for a in client.list_artifacts(run_id))


def test_sync_sends_no_file_from_outside_the_run_dir(mlflow_server, client, tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    run_dir = tmp_path / "downloaded-run"
    tracker, proxy = offline_run(mlflow_server, run_dir, secret)
    run_id = sync_online(proxy, run_dir)
    assert artifacts(client, run_id) == ["report.md"]
    rejected = [json.loads(line) for line in (tracker.directory / REJECTED_NAME).open()]
    assert [r["record"]["path"] for r in rejected] == [str(secret)]
    assert "is outside" in rejected[0]["reason"]
    assert "--trust-file" in rejected[0]["reason"]


def test_sync_with_trust_file_sends_it(mlflow_server, client, tmp_path):
    secret = tmp_path / "mine.txt"
    secret.write_text("my own file, logged from elsewhere")
    run_dir = tmp_path / "my-run"
    _, proxy = offline_run(mlflow_server, run_dir, secret)
    run_id = sync_online(proxy, run_dir, "--trust-file")
    assert artifacts(client, run_id) == ["mine.txt", "report.md"]
