"""The tracker leaves the user's environment alone; its sender gets MLflow's settings."""

from __future__ import annotations

import os

import pytest

from accel.mlflow.client_env import client_environment, client_settings, sender_environment
from accel.mlflow.testing import FlakyProxy
from accel.mlflow.tracker import MlflowTracker

KEYS = (
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)


def test_settings_for_a_server_and_for_a_local_store(clean_env: None) -> None:
    assert client_settings("http://host:5000", 2) == {
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    }
    assert client_settings("sqlite:///x.db", 2) == {
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"
    }


def test_the_users_own_setting_wins(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in client_settings("https://h", 1)
    assert sender_environment(client_settings("https://h", 1))["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "5"


def test_client_environment_restores_what_it_added(clean_env: None) -> None:
    with client_environment({"MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}):
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "30"
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


def test_a_tracked_run_does_not_change_os_environ(clean_env: None, tmp_path) -> None:
    before = dict(os.environ)
    proxy = FlakyProxy(1)  # down: the sender process starts and spools, nothing is sent
    tracker = MlflowTracker(uri=proxy.uri, run_dir=tmp_path / "run", flush_timeout=0.5)
    tracker.start_run("env")
    tracker.log_metrics({"loss": 1.0}, 0)
    tracker.end_run()
    assert dict(os.environ) == before
    assert tracker.client_settings["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"
