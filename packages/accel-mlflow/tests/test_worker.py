import torch

from accel.mlflow.columns import metric_rows
from accel.mlflow.spool import Spool
from accel.mlflow.worker import Worker


def test_a_full_queue_spills_to_the_spool_instead_of_blocking(tmp_path):
    worker = Worker(Spool(tmp_path), queue_size=2)  # not started: nothing drains
    for step in range(5):
        worker.submit(({"loss@x": step}, step, 1))
    spilled = [record for record, _ in Spool(tmp_path).pending()]
    assert [list(metric_rows(r["data"])) for r in spilled] == [
        [("loss_x", float(s), 1, s)] for s in (2, 3, 4)
    ]
    worker.spill()  # what was still queued goes to the spool too (at exit)
    entries = [
        row for record, _ in Spool(tmp_path).pending() for row in metric_rows(record["data"])
    ]
    assert sorted(step for *_, step in entries) == [0, 1, 2, 3, 4]


def test_flush_of_a_stopped_worker_reports_failure(tmp_path):
    worker = Worker(Spool(tmp_path), queue_size=2)
    assert worker.flush(timeout=0.1) is False


def test_a_value_that_is_not_a_number_is_skipped_with_one_warning(tmp_path, caplog):
    worker = Worker(Spool(tmp_path))
    for step in range(3):
        worker.submit(({"loss": 0.5, "note": "n/a", "pair": torch.ones(2)}, step, 1))
    worker.spill()
    rows = [row for record, _ in Spool(tmp_path).pending() for row in metric_rows(record["data"])]
    assert [(name, step) for name, _, _, step in rows] == [("loss", 0), ("loss", 1), ("loss", 2)]
    assert caplog.text.count("'note' = 'n/a' is not a number") == 1
    assert caplog.text.count("'pair' = tensor([1., 1.]) is not a number") == 1
    assert worker.curves() == {"loss": [(0, 0.5), (1, 0.5), (2, 0.5)]}
