from accel.mlflow.replay import Replayer
from accel.mlflow.sender import Sender
from accel.mlflow.spool import Spool
from accel.mlflow.state import RunState
from accel.mlflow.testing import free_port


def _offline_sender(tmp_path, health=None):
    RunState(tracking_uri=f"http://127.0.0.1:{free_port()}", experiment="e").save(tmp_path)
    Spool(tmp_path).append([{"op": "tags", "data": {"a": "1"}}])
    return Sender(Replayer(tmp_path), health=health)


def test_an_unreachable_server_backs_off_and_keeps_the_spool(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    checks = []
    sender = _offline_sender(tmp_path, health=lambda: checks.append(1) or False)
    assert sender.send() is False
    assert (sender.online, sender.failures) == (False, 1)
    assert sender.send() is False  # within the back-off: not even a health check
    assert checks == []
    assert sender.send(force=True) is False  # a flush tries now: the health check says no
    assert checks == [1]
    assert sender.failures == 2
    assert Spool(tmp_path).has_pending()
