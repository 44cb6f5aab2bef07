"""The tracker against a real `mlflow server`, checked through MLflow's own client."""

from __future__ import annotations

import pytest
import torch
from mlflow_helpers import CONFIG, steps_of, write_onnx

from accel.core.errors import ConfigError
from accel.core.registry import build
from accel.mlflow.flatten import config_hash, flatten_config
from accel.mlflow.sanitize import sanitize_params
from accel.mlflow.tracker import MlflowTracker


def _tracker(server, run_dir, **options):
    return MlflowTracker(uri=server.uri, run_dir=run_dir, flush_interval=0.1, **options)


def test_registry_builds_the_tracker_as_mlflow(mlflow_server, run_dir):
    tracker = build("trackers", {"name": "mlflow", "uri": mlflow_server.uri, "run_dir": run_dir})
    assert isinstance(tracker, MlflowTracker)


def test_a_run_has_every_param_metric_artifact_and_registered_model(
    mlflow_server, client, run_dir, tmp_path
):
    tracker = _tracker(mlflow_server, run_dir, experiment="full", overrides=["model=mlp"])
    tracker.start_run("full-run", tags={"team": "cv"})
    tracker.log_params(CONFIG)
    logged = {"train/loss": [], "train/lr": [], "val/acc": []}
    for step in range(1, 121):
        tracker.log_metrics({"train/loss": 1 / step, "train/lr": torch.tensor(0.1)}, step)
        logged["train/loss"].append(step)
        logged["train/lr"].append(step)
        if step % 40 == 0:
            tracker.log_metrics({"val/acc": step / 120}, step)
            logged["val/acc"].append(step)
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"weights")
    tracker.log_artifact(str(checkpoint), "checkpoints")
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    tracker.log_torch_model(net, "net", torch.randn(2, 4))
    tracker.log_model(str(write_onnx(tmp_path / "add.onnx")), "net-onnx", alias="int8")
    tracker.end_run()

    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == sanitize_params(flatten_config(CONFIG))
    assert len(run.data.params) == len(flatten_config(CONFIG))
    for key, steps in logged.items():
        assert steps_of(client, run.info.run_id, key) == steps, key
    tags = run.data.tags
    assert tags["accel.config_hash"] == config_hash(CONFIG)
    assert tags["team"] == "cv"
    assert tags["accel.overrides"] == '["model=mlp"]'
    assert {"git.commit", "git.dirty", "host.name", "versions.torch"} <= set(tags)
    files = {
        a.path
        for folder in ("config", "checkpoints", "plots")
        for a in client.list_artifacts(run.info.run_id, folder)
    }
    assert {
        "config/config.yaml",
        "checkpoints/last.ckpt",
        "plots/loss.png",
        "plots/acc.png",
    } <= files

    version = client.get_model_version_by_alias("full.net", "candidate")
    assert version.run_id == run.info.run_id
    local = client.download_artifacts(run.info.run_id, "models/net", str(tmp_path / "dl"))
    import mlflow.pytorch

    loaded = mlflow.pytorch.load_model(local)  # pt2: torch.export, no pickle
    x = torch.randn(2, 4)
    torch.testing.assert_close(loaded(x), net(x))
    onnx_version = client.get_model_version_by_alias("full.net-onnx", "int8")
    assert onnx_version.run_id == run.info.run_id
    onnx_files = {a.path for a in client.list_artifacts(run.info.run_id, "models/net-onnx")}
    assert "models/net-onnx/MLmodel" in onnx_files


def test_an_exception_marks_the_run_failed_with_the_error(mlflow_server, client, run_dir):
    tracker = _tracker(mlflow_server, run_dir)

    def train() -> None:
        with tracker:
            tracker.log_metrics({"loss": float("nan")}, 0)
            raise ValueError("loss diverged")

    with pytest.raises(ValueError, match="loss diverged"):
        train()
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["accel.error"] == "ValueError: loss diverged"


def test_ctrl_c_marks_the_run_killed(mlflow_server, client, run_dir):
    tracker = _tracker(mlflow_server, run_dir)
    tracker.start_run()
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        tracker.end_run("FAILED")
    assert client.get_run(tracker.run_id).info.status == "KILLED"


def test_resume_reattaches_to_the_same_run_and_skips_logged_params(mlflow_server, client, run_dir):
    first = _tracker(mlflow_server, run_dir)
    first.start_run("resumable")
    first.log_params({"lr": 0.1, "epochs": 2})
    for step in range(5):
        first.log_metrics({"loss": 1.0 / (step + 1)}, step)
    first.end_run("KILLED")
    again = _tracker(mlflow_server, run_dir)
    again.start_run("resumable")
    again.log_params({"lr": 0.1, "epochs": 4})  # same lr, a changed epochs: no error
    for step in range(5, 10):
        again.log_metrics({"loss": 1.0 / (step + 1)}, step)
    again.end_run()
    assert again.run_id == first.run_id
    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.1", "epochs": "2"}
    assert run.data.tags["accel.param_changed.epochs"] == "4"
    assert steps_of(client, first.run_id, "loss") == list(range(10))
    assert not (run_dir / "mlflow" / "rejected.jsonl").exists()


def test_child_runs_are_nested_under_the_parent(mlflow_server, client, run_dir):
    parent = _tracker(mlflow_server, run_dir, experiment="pipeline")
    parent.start_run("pipeline")
    steps = [parent.child(name) for name in ("train", "prune")]
    for index, child in enumerate(steps):
        child.start_run()
        child.log_metrics({"acc": 0.9 - index / 10}, 0)
        child.end_run()
    parent.end_run()
    for child, name in zip(steps, ("train", "prune"), strict=True):
        run = client.get_run(child.run_id)
        assert run.data.tags["mlflow.parentRunId"] == parent.run_id
        assert run.info.run_name == name


def test_a_child_keeps_its_state_in_its_own_run_dir(mlflow_server, client, run_dir):
    parent = _tracker(mlflow_server, run_dir, experiment="sweep")
    parent.start_run("sweep")
    child = parent.child("job-0", run_dir=run_dir / "job-0")
    child.start_run()
    child.end_run()
    parent.end_run()
    assert (run_dir / "job-0" / "mlflow").is_dir()
    assert not (run_dir / "mlflow" / "children").exists()
    assert client.get_run(child.run_id).data.tags["mlflow.parentRunId"] == parent.run_id


def test_calls_without_a_run_are_config_errors(mlflow_server, run_dir):
    tracker = _tracker(mlflow_server, run_dir)
    with pytest.raises(ConfigError, match=r"no active run; call start_run\(\) first"):
        tracker.log_metrics({"loss": 1.0}, 0)


def test_missing_artifact_is_a_config_error(mlflow_server, run_dir):
    tracker = _tracker(mlflow_server, run_dir)
    tracker.start_run()
    try:
        with pytest.raises(ConfigError, match=r"log_artifact: .*nope\.ckpt does not exist"):
            tracker.log_artifact(str(run_dir / "nope.ckpt"))
    finally:
        tracker.end_run()


def test_bad_options_are_named(run_dir):
    with pytest.raises(ConfigError, match=r"queue_size=0.*valid: queue_size >= 1"):
        MlflowTracker(uri="sqlite:///x.db", run_dir=run_dir, queue_size=0)


def test_options_are_keyword_only_so_two_can_never_swap(run_dir):
    with pytest.raises(TypeError, match="positional"):
        MlflowTracker("sqlite:///x.db", "accel")  # type: ignore[misc]


def test_default_store_is_a_sqlite_file_in_the_project(monkeypatch, tmp_path):
    from mlflow import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    tracker = MlflowTracker(run_dir=tmp_path / "run", flush_interval=0.1, plots=False)
    tracker.start_run("local")
    tracker.log_params({"lr": 0.5})
    for step in range(3):
        tracker.log_metrics({"loss": float(step)}, step)
    tracker.end_run()
    assert (tmp_path / "mlflow.db").exists()
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert client.get_run(tracker.run_id).data.params == {"lr": "0.5"}
    assert steps_of(client, tracker.run_id, "loss") == [0, 1, 2]


def test_overrides_saved_by_the_cli_become_a_tag(mlflow_server, client, run_dir):
    run_dir.mkdir(parents=True)
    (run_dir / "overrides.yaml").write_text("- optimizer.lr=0.5\n- model=mlp\n")
    tracker = _tracker(mlflow_server, run_dir, plots=False)
    tracker.start_run()
    tracker.end_run()
    tags = client.get_run(tracker.run_id).data.tags
    assert tags["accel.overrides"] == '["optimizer.lr=0.5", "model=mlp"]'
