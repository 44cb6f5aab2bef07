from accel.mlflow.replay import Replayer
from accel.mlflow.spool import Spool
from accel.mlflow.worker import Worker


def test_a_full_queue_spills_to_the_spool_instead_of_blocking(tmp_path):
    worker = Worker(Replayer(tmp_path), queue_size=2)  # not started: nothing drains
    for step in range(5):
        worker.submit({"op": "metrics", "values": {"loss@x": step}, "step": step, "timestamp": 1})
    spilled = [record for record, _ in Spool(tmp_path).pending()]
    assert [r["data"] for r in spilled] == [[["loss_x", float(s), 1, s]] for s in (2, 3, 4)]
    worker.spill()  # what was still queued goes to the spool too (at exit)
    entries = [entry for record, _ in Spool(tmp_path).pending() for entry in record["data"]]
    assert sorted(step for *_, step in entries) == [0, 1, 2, 3, 4]


def test_flush_of_a_stopped_worker_reports_failure(tmp_path):
    worker = Worker(Replayer(tmp_path), queue_size=2)
    assert worker.flush(timeout=0.1) is False
