from accel.mlflow.testing import free_port
from accel.mlflow.uri import health_check, resolve_tracking_uri


def test_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env:5000")
    assert resolve_tracking_uri("http://arg:5000") == "http://arg:5000"
    assert resolve_tracking_uri(None) == "http://env:5000"


def test_default_is_a_sqlite_file_in_the_project(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_health_check_fails_on_a_closed_port_and_passes_for_local_stores():
    assert not health_check(f"http://127.0.0.1:{free_port()}", timeout=0.5)
    assert health_check("sqlite:///anything.db")
