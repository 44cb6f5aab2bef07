"""With `tracker=mlflow`, a pipeline is one MLflow run and each of its steps a nested child run;
a sweep (`accel train -m`) is one parent run with a child run per job. Checked through MLflow's
own client on a real sqlite-backed store."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

Accel = Callable[..., subprocess.CompletedProcess[str]]  # the `accel` fixture (conftest.py)
FAST = ["trainer.max_epochs=1", "~callbacks.progress", "tracker=mlflow"]


def accel_tracked(accel: Accel, root: Path, *args: str) -> None:
    """Run `accel ARGS` in `root` with the MLflow store in `root/mlflow.db`; it must succeed."""
    done = accel(list(args), root, env={"MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"})
    assert done.returncode == 0, done.stderr[-3000:]


def runs_by_name(root: Path) -> tuple[Any, dict[str, Any]]:
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("accel")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    return client, {run.info.run_name: run for run in runs}


def test_pipeline_steps_are_child_runs_of_the_pipeline_run(accel: Accel, tmp_path: Path) -> None:
    accel_tracked(accel, tmp_path, "pipeline", "run", "pipeline=prune_int8", *FAST)
    client, runs = runs_by_name(tmp_path)
    steps = ["train", "prune", "finetune", "quantize", "export", "evaluate"]
    parents = [r for r in runs.values() if r.data.tags.get("accel.stage") == "pipeline"]
    assert len(parents) == 1
    parent = parents[0]
    children = {
        name: run
        for name, run in runs.items()
        if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    }
    # training steps are named by their step folder (00-train), the others by the step name
    assert sorted(n.split("-", 1)[-1] for n in children) == sorted(steps)
    assert all(run.info.status == "FINISHED" for run in [parent, *children.values()])
    train = next(run for name, run in children.items() if name.endswith("train"))
    assert "val/accuracy" in train.data.metrics
    assert train.data.params["trainer.max_epochs"] == "1"
    evaluate = children["evaluate"]
    assert evaluate.data.metrics["models.quantize.test_accuracy"] > 0.5
    assert parent.data.metrics["models.quantize.test_accuracy"] > 0.5
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.md", "report/report.json"} <= artifacts
    # each training step registers its checkpoint; the alias ends on the pipeline's int8 model
    candidate = client.get_model_version_by_alias("accel.model", "candidate")
    assert candidate.run_id == parent.info.run_id


def test_sweep_jobs_are_child_runs_of_the_sweep_run(accel: Accel, tmp_path: Path) -> None:
    accel_tracked(accel, tmp_path, "train", "-m", "optimizer.lr=0.1,0.01", *FAST)
    _, runs = runs_by_name(tmp_path)
    parents = [r for r in runs.values() if r.data.tags.get("accel.stage") == "sweep"]
    assert len(parents) == 1
    children = [
        r for r in runs.values() if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id
    ]
    assert sorted(r.data.params["optimizer.lr"] for r in children) == ["0.01", "0.1"]
    assert all("test/accuracy" in r.data.metrics for r in children)
    assert {r.info.status for r in [*children, parents[0]]} == {"FINISHED"}
