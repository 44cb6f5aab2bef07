"""The sender process's service, fed commands like the training process feeds it."""

from __future__ import annotations

import io
import json
import time

from mlflow_helpers import steps_of

from accel.mlflow.columns import encode_columns, new_column
from accel.mlflow.sender_process import serve
from accel.mlflow.spool import Spool
from accel.mlflow.state import RunState


def _spool_metrics(directory, steps):
    column = new_column()
    for step in steps:
        column[0].append(step)
        column[1].append(1.0 / (step + 1))
        column[2].append(int(time.time() * 1000))
    Spool(directory).append([{"op": "metrics", "data": encode_columns({"loss": column})}])


def _commands(*commands):
    return io.StringIO("".join(json.dumps(c) + "\n" for c in commands))


def test_serve_sends_every_opened_run_and_answers_flushes(mlflow_server, client, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        RunState(tracking_uri=mlflow_server.uri, experiment="sender").save(directory)
    _spool_metrics(first, range(0, 50))
    _spool_metrics(second, range(0, 20))
    answers = io.StringIO()
    serve(
        0.05,
        _commands(
            {"op": "open", "dir": str(first), "max_param_length": 6000},
            {"op": "flush", "dir": str(first), "id": 7},
            {"op": "open", "dir": str(second), "max_param_length": 6000},
            {"op": "close", "dir": str(second)},
            {"op": "flush", "dir": str(tmp_path / "never-opened"), "id": 8},
        ),
        answers,
    )
    replies = [json.loads(line) for line in answers.getvalue().splitlines()]
    done = {r["id"]: r["sent"] for r in replies if r["op"] == "done"}
    assert done == {7: True, 8: False}
    for directory, count in ((first, 50), (second, 20)):
        run_id = RunState.load(directory).run_id
        assert steps_of(client, run_id, "loss") == list(range(count))
        assert not Spool(directory).has_pending()


def test_log_records_of_the_sender_go_back_to_the_training_process(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    directory = tmp_path / "run"
    RunState(tracking_uri="http://127.0.0.1:9", experiment="x").save(directory)
    Spool(directory).append([{"op": "tags", "data": {"a": "1"}}])
    answers = io.StringIO()
    serve(0.05, _commands({"op": "open", "dir": str(directory)}), answers)
    logs = [json.loads(line) for line in answers.getvalue().splitlines()]
    assert any("tracking server unavailable" in r["message"] for r in logs if r["op"] == "log")
