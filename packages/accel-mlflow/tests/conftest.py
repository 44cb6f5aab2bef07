"""One real `mlflow server` per test session (sqlite backend, local artifacts, 127.0.0.1)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from accel.mlflow.testing import MlflowServer

TESTS = Path(__file__).parent
if str(TESTS) not in sys.path:  # the helper module (mlflow_helpers) beside the tests
    sys.path.insert(0, str(TESTS))


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A running server shared by the session; tests that stop it must start it again."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()


@pytest.fixture
def client(mlflow_server: MlflowServer):
    from mlflow import MlflowClient

    if mlflow_server.process is None:
        mlflow_server.start()
    return MlflowClient(tracking_uri=mlflow_server.uri, registry_uri=mlflow_server.uri)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"
